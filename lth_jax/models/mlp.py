"""Fully connected networks: LeNet-300-100 and a generic (multi-head) MLP."""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax.models import registry

#: Frankle & Carbin 2019 initialise with Gaussian Glorot (Xavier normal).
glorot_normal = nn.initializers.glorot_normal()


class MLP(nn.Module):
  """A ReLU MLP. Layers are named ``hidden_<i>`` and ``output``.

  With ``head_sizes``, the ``output`` layer holds all heads side by side
  (e.g. ``(10, 10)`` for MNIST + Fashion-MNIST) and the logits are returned
  as one concatenated array; split them with ``split_heads``.
  """
  hidden: Sequence[int]
  num_classes: int = 10
  kernel_init: nn.initializers.Initializer = glorot_normal
  bias_init: nn.initializers.Initializer = nn.initializers.zeros

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train  # No dropout or batch norm.
    x = jnp.reshape(x, (x.shape[0], -1))
    for i, width in enumerate(self.hidden):
      x = nn.Dense(width, kernel_init=self.kernel_init,
                   bias_init=self.bias_init, name=f'hidden_{i}')(x)
      x = nn.relu(x)
    return nn.Dense(self.num_classes, kernel_init=self.kernel_init,
                    bias_init=self.bias_init, name='output')(x)


@registry.register_model('lenet300_100')
def lenet300_100(num_classes: int = 10) -> MLP:
  """LeNet-300-100 (266,610 parameters on 28x28 inputs)."""
  return MLP(hidden=(300, 100), num_classes=num_classes)


@registry.register_model('mlp')
def mlp(num_classes: int = 10, hidden: Sequence[int] = (300, 100),
        init: str = 'glorot_normal',
        head_sizes: Sequence[int] | None = None) -> MLP:
  """A generic ReLU MLP.

  Args:
    num_classes: output width (ignored when ``head_sizes`` is given).
    hidden: hidden layer widths.
    init: 'glorot_normal' or 'kaiming_normal' (zero biases either way).
    head_sizes: for multi-task data, the widths of the task heads that
      share the ``output`` layer, e.g. ``(10, 10)`` for MNIST +
      Fashion-MNIST (labels then carry one class index per head).
  """
  inits = {'glorot_normal': glorot_normal,
           'kaiming_normal': nn.initializers.kaiming_normal()}
  if init not in inits:
    raise errors.InputError(f'unknown init {init!r}; known: {sorted(inits)}.')
  width = sum(head_sizes) if head_sizes else num_classes
  return MLP(hidden=tuple(hidden), num_classes=width,
             kernel_init=inits[init])
