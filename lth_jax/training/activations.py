"""Per-layer input activations of a Flax model, for one-shot pruning.

``layer_inputs`` runs the model once on calibration data and records the
input of every ``nn.Dense`` (and, as im2col patches, every ``nn.Conv``)
keyed by its kernel's parameter path, through Flax's method interception
(``nn.intercept_methods``: Flax's ``capture_intermediates`` records only
outputs), so no model is re-implemented. Wanda and SparseGPT
(``lth_jax.pruning.oneshot``) take these matrices.
"""
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp  # pylint: disable=unused-import  (doctests)
import numpy as np

PyTree = Any


def _patches(module: nn.Conv, x: jax.Array) -> jax.Array:
  """``[n * positions, prod(kernel) * c_in]`` patches in the kernel's order
  (1-D, 2-D or 3-D convolutions)."""
  kernel = tuple(module.kernel_size)
  spatial = 'DHW'[-len(kernel):]
  padding = module.padding if isinstance(module.padding, str) else (
      [tuple(p) for p in module.padding])
  strides = module.strides or 1
  strides = strides if isinstance(strides, tuple) else (strides,) * len(
      kernel)
  p = jax.lax.conv_general_dilated_patches(
      x, kernel, strides, padding, dimension_numbers=(
          f'N{spatial}C', f'{spatial}IO', f'N{spatial}C'))
  c_in = x.shape[-1]
  # Patches come channel-major ([c_in, *kernel]); the kernel is
  # [*kernel, c_in].
  p = p.reshape(-1, c_in, *kernel)
  p = p.transpose(0, *range(2, 2 + len(kernel)), 1)
  return p.reshape(-1, int(np.prod(kernel)) * c_in)


def layer_inputs(apply_fn: Any, variables: PyTree, inputs: jax.Array,
                 **kwargs: Any) -> dict[str, np.ndarray]:
  """The input matrix of every Dense and Conv layer on ``inputs``.

  Args:
    apply_fn: the model's ``apply`` (a bound ``flax.linen`` module's).
    variables: ``{'params': ..., ...}`` to run the model with.
    inputs: a calibration batch.
    **kwargs: passed to ``apply_fn`` (e.g. ``train=False``).

  Returns:
    ``{'<module path>/kernel': X}`` with ``X`` of shape ``[n, n_in]``
    (conv: ``[n * positions, prod(kernel) * c_in]``), in call order.

  >>> model = nn.Dense(3)
  >>> v = model.init(jax.random.key(0), jnp.ones((1, 2)))
  >>> {k: x.shape for k, x in layer_inputs(model.apply, v,
  ...                                      jnp.ones((4, 2))).items()}
  {'kernel': (4, 2)}
  """
  found: dict[str, np.ndarray] = {}

  def record(next_fun, args, kwargs_, context):
    module = context.module
    if context.method_name == '__call__' and isinstance(module,
                                                        (nn.Dense, nn.Conv)):
      x = args[0]
      if isinstance(module, nn.Conv):
        x = _patches(module, x)
      else:
        x = x.reshape(-1, x.shape[-1])
      path = '/'.join(module.path + ('kernel',))
      found[path] = np.asarray(x)
    return next_fun(*args, **kwargs_)

  with nn.intercept_methods(record):
    apply_fn(variables, inputs, **kwargs)
  return found
