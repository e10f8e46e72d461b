"""CIFAR ResNets (He et al. 2016), as open_lth's ``cifar_resnet``.

A 3x3 stem conv, three stages of ``(depth - 2) / 6`` basic blocks of widths
``w, 2w, 4w`` (stride 2 at the start of stages 2 and 3), global average
pooling and a linear ``output`` layer. A block whose shape changes adds a
projection shortcut (1x1 conv + batch norm). Convs have no biases.

Param paths: ``conv_0``/``bn_0`` (stem), ``block_<stage>_<block>/conv_<i>``,
``.../bn_<i>``, ``.../conv_shortcut``, ``.../bn_shortcut`` and ``output``.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax.models import conv
from lth_jax.models import registry


def _batch_norm(train: bool, batchnorm_init: str, name: str) -> nn.BatchNorm:
  return nn.BatchNorm(use_running_average=not train,
                      momentum=conv.BN_MOMENTUM, epsilon=conv.BN_EPSILON,
                      scale_init=conv.batch_norm_scale_init(batchnorm_init),
                      name=name)


class BasicBlock(nn.Module):
  """Two 3x3 convs with batch norm around a residual connection."""
  width: int
  stride: int = 1
  batchnorm_init: str = 'ones'
  kernel_init: nn.initializers.Initializer = conv.kaiming_normal

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    def conv3x3(stride, name):
      return nn.Conv(self.width, (3, 3), strides=(stride, stride),
                     padding=((1, 1), (1, 1)), use_bias=False,
                     kernel_init=self.kernel_init, name=name)

    y = conv3x3(self.stride, 'conv_0')(x)
    y = nn.relu(_batch_norm(train, self.batchnorm_init, 'bn_0')(y))
    y = conv3x3(1, 'conv_1')(y)
    y = _batch_norm(train, self.batchnorm_init, 'bn_1')(y)
    if self.stride != 1 or x.shape[-1] != self.width:
      x = nn.Conv(self.width, (1, 1), strides=(self.stride, self.stride),
                  use_bias=False, kernel_init=self.kernel_init,
                  name='conv_shortcut')(x)
      x = _batch_norm(train, self.batchnorm_init, 'bn_shortcut')(x)
    return nn.relu(x + y)


class CifarResNet(nn.Module):
  """A CIFAR ResNet of ``2 + 6 * blocks_per_stage`` layers."""
  blocks_per_stage: int = 3
  width: int = 16
  num_classes: int = 10
  batchnorm_init: str = 'ones'
  kernel_init: nn.initializers.Initializer = conv.kaiming_normal

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    x = nn.Conv(self.width, (3, 3), padding=((1, 1), (1, 1)), use_bias=False,
                kernel_init=self.kernel_init, name='conv_0')(x)
    x = nn.relu(_batch_norm(train, self.batchnorm_init, 'bn_0')(x))
    for stage in range(3):
      for block in range(self.blocks_per_stage):
        stride = 2 if stage > 0 and block == 0 else 1
        x = BasicBlock(self.width * 2**stage, stride, self.batchnorm_init,
                       self.kernel_init, name=f'block_{stage}_{block}')(
                           x, train)
    x = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.num_classes, kernel_init=self.kernel_init,
                    name='output')(x)


def resnet_cifar(depth: int = 20, width: int = 16, num_classes: int = 10,
                 batchnorm_init: str = 'ones') -> CifarResNet:
  """A CIFAR ResNet-``depth`` (depth = 6n + 2) with stage widths w, 2w, 4w.

  >>> resnet_cifar(56).blocks_per_stage
  9
  """
  if depth < 8 or (depth - 2) % 6:
    raise errors.InputError(
        f'ResNet depth must be 6n + 2 (20, 32, 44, 56, 110...), '
        f'got {depth}.')
  if width < 1:
    raise errors.InputError(f'ResNet width must be positive, got {width}.')
  return CifarResNet(blocks_per_stage=(depth - 2) // 6, width=width,
                     num_classes=num_classes, batchnorm_init=batchnorm_init)


@registry.register_model('resnet_cifar')
def resnet_cifar_model(num_classes: int = 10, depth: int = 20, width: int = 16,
                       batchnorm_init: str = 'ones') -> CifarResNet:
  """Any CIFAR ResNet: ``depth`` 6n + 2, first-stage ``width``."""
  return resnet_cifar(depth, width, num_classes, batchnorm_init)


@registry.register_model('resnet20')
def resnet20(num_classes: int = 10, width: int = 16,
             batchnorm_init: str = 'ones') -> CifarResNet:
  """ResNet-20 (272,474 params; 270,896 prunable conv/dense weights)."""
  return resnet_cifar(20, width, num_classes, batchnorm_init)


@registry.register_model('resnet56')
def resnet56(num_classes: int = 10, width: int = 16,
             batchnorm_init: str = 'ones') -> CifarResNet:
  """ResNet-56 for CIFAR-10."""
  return resnet_cifar(56, width, num_classes, batchnorm_init)


@registry.register_model('resnet110')
def resnet110(num_classes: int = 10, width: int = 16,
              batchnorm_init: str = 'ones') -> CifarResNet:
  """ResNet-110 for CIFAR-10 (1,730,714 params)."""
  return resnet_cifar(110, width, num_classes, batchnorm_init)
