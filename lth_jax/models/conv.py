"""Convolutional networks for CIFAR-10: Conv-2/4/6 and VGG-11/13/16/19.

Conv-2/4/6 follow Frankle & Carbin 2019 (Figure 2); the VGG family follows
open_lth's ``cifar_vgg`` (the Frankle & Carbin 2019 VGG-19 is ``vgg19``).
Layers are named so that path regexes select them: ``conv_<i>``, ``bn_<i>``,
``dense_<i>`` and the classifier ``output``.
"""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax.models import registry

#: Frankle & Carbin 2019 initialise with Gaussian Glorot (as LeNet in mlp.py).
glorot_normal = nn.initializers.glorot_normal()

#: ``torch.nn.init.kaiming_normal_`` (fan-in, untruncated), as in open_lth.
kaiming_normal = nn.initializers.variance_scaling(2.0, 'fan_in', 'normal')

#: One entry per layer of a VGG plan: a conv width, or 'M' for a 2x2 max pool.
PoolOrWidth = int | str

VGG_PLANS: dict[int, tuple[PoolOrWidth, ...]] = {
    11: (64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512),
    13: (64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512),
    16: (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M',
         512, 512, 512),
    19: (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512,
         512, 'M', 512, 512, 512, 512),
}

#: PyTorch's BatchNorm2d defaults (running-average momentum 0.1, eps 1e-5).
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def batch_norm_scale_init(name: str) -> nn.initializers.Initializer:
  """'ones' (standard) or 'uniform' (U[0, 1), open_lth's default)."""
  inits = {'ones': nn.initializers.ones,
           'uniform': nn.initializers.uniform(1.0)}
  if name not in inits:
    raise errors.InputError(f'unknown batch-norm init {name!r}; known: '
                     f'{sorted(inits)}.')
  return inits[name]


def max_pool(x: jax.Array) -> jax.Array:
  return nn.max_pool(x, (2, 2), strides=(2, 2))


class ConvNet(nn.Module):
  """VGG-like Conv-2/4/6: 3x3 SAME convs + ReLU, a 2x2 max pool after each
  pair, then ReLU dense layers and the ``output`` layer."""
  conv_widths: Sequence[int]
  dense_widths: Sequence[int] = (256, 256)
  num_classes: int = 10
  kernel_init: nn.initializers.Initializer = glorot_normal

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train  # No dropout or batch norm.
    for i, width in enumerate(self.conv_widths):
      x = nn.Conv(width, (3, 3), padding='SAME', kernel_init=self.kernel_init,
                  name=f'conv_{i}')(x)
      x = nn.relu(x)
      if i % 2 == 1:
        x = max_pool(x)
    x = jnp.reshape(x, (x.shape[0], -1))
    for i, width in enumerate(self.dense_widths):
      x = nn.Dense(width, kernel_init=self.kernel_init, name=f'dense_{i}')(x)
      x = nn.relu(x)
    return nn.Dense(self.num_classes, kernel_init=self.kernel_init,
                    name='output')(x)


class VGG(nn.Module):
  """open_lth's CIFAR VGG: 3x3 SAME convs (+ batch norm) + ReLU and 2x2 max
  pools per ``plan``, global average pooling, one linear ``output`` layer.

  open_lth applies a 2x2 average pool to the final 2x2 map of a 32x32 input;
  global average pooling is the same there and also accepts smaller inputs.
  Conv biases are kept (as in open_lth) even with batch norm.
  """
  plan: Sequence[PoolOrWidth]
  num_classes: int = 10
  batch_norm: bool = True
  batchnorm_init: str = 'ones'
  kernel_init: nn.initializers.Initializer = kaiming_normal

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    conv_index = 0
    for spec in self.plan:
      if spec == 'M':
        x = max_pool(x)
        continue
      x = nn.Conv(int(spec), (3, 3), padding='SAME',
                  kernel_init=self.kernel_init, name=f'conv_{conv_index}')(x)
      if self.batch_norm:
        x = nn.BatchNorm(use_running_average=not train, momentum=BN_MOMENTUM,
                         epsilon=BN_EPSILON,
                         scale_init=batch_norm_scale_init(self.batchnorm_init),
                         name=f'bn_{conv_index}')(x)
      x = nn.relu(x)
      conv_index += 1
    x = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.num_classes, kernel_init=self.kernel_init,
                    name='output')(x)


@registry.register_model('conv2')
def conv2(num_classes: int = 10) -> ConvNet:
  """Conv-2: 64, 64, pool; fc 256, 256, 10 (4,301,642 params on CIFAR-10)."""
  return ConvNet(conv_widths=(64, 64), num_classes=num_classes)


@registry.register_model('conv4')
def conv4(num_classes: int = 10) -> ConvNet:
  """Conv-4: 64, 64, pool, 128, 128, pool; fc 256, 256, 10 (2,425,930)."""
  return ConvNet(conv_widths=(64, 64, 128, 128), num_classes=num_classes)


@registry.register_model('conv6')
def conv6(num_classes: int = 10) -> ConvNet:
  """Conv-6: Conv-4 then 256, 256, pool; fc 256, 256, 10 (2,262,602)."""
  return ConvNet(conv_widths=(64, 64, 128, 128, 256, 256),
                 num_classes=num_classes)


@registry.register_model('convnet')
def convnet(num_classes: int = 10, conv_widths: Sequence[int] = (64, 64),
            dense_widths: Sequence[int] = (256, 256)) -> ConvNet:
  """A ``ConvNet`` of any widths (``model_kwargs``), e.g. a narrow Conv-2
  for CPU runs; the defaults are Conv-2."""
  return ConvNet(conv_widths=tuple(conv_widths),
                 dense_widths=tuple(dense_widths), num_classes=num_classes)


def vgg(depth: int, num_classes: int = 10, batch_norm: bool = True,
        batchnorm_init: str = 'ones') -> VGG:
  """A CIFAR VGG of ``depth`` 11, 13, 16 or 19.

  >>> vgg(19).plan[:3]
  (64, 64, 'M')
  """
  if depth not in VGG_PLANS:
    raise errors.InputError(
        f'unknown VGG depth {depth}; known: {sorted(VGG_PLANS)}.')
  return VGG(plan=VGG_PLANS[depth], num_classes=num_classes,
             batch_norm=batch_norm, batchnorm_init=batchnorm_init)


def _register_vgg(depth: int) -> None:
  """Registers 'vgg<depth>' (batch norm) and 'vgg<depth>_nobn'."""

  def with_bn(num_classes: int = 10, batch_norm: bool = True,
              batchnorm_init: str = 'ones') -> VGG:
    return vgg(depth, num_classes, batch_norm, batchnorm_init)

  def without_bn(num_classes: int = 10) -> VGG:
    return vgg(depth, num_classes, batch_norm=False)

  with_bn.__doc__ = f'VGG-{depth} for CIFAR-10 with batch norm.'
  without_bn.__doc__ = f'VGG-{depth} for CIFAR-10 without batch norm.'
  registry.register_model(f'vgg{depth}')(with_bn)
  registry.register_model(f'vgg{depth}_nobn')(without_bn)


for _depth in VGG_PLANS:
  _register_vgg(_depth)
