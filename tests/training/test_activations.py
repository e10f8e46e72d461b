"""Layer inputs from Flax interception: conv patches match the conv."""
import flax.linen as nn
import jax
import numpy as np

from lth_jax.training import activations


class _Net(nn.Module):

  @nn.compact
  def __call__(self, x):
    x = nn.Conv(4, (3, 3), strides=2, use_bias=False, name='c')(x)
    return nn.Dense(3, name='d')(x.reshape(x.shape[0], -1))


def test_conv_patches_times_kernel_equal_the_conv_output():
  x = np.random.default_rng(0).normal(size=(2, 7, 7, 3)).astype(np.float32)
  net = _Net()
  v = net.init(jax.random.key(0), x)
  inputs = activations.layer_inputs(net.apply, v, x)
  assert list(inputs) == ['c/kernel', 'd/kernel']
  kernel = np.asarray(v['params']['c']['kernel'])
  conv = nn.Conv(4, (3, 3), strides=2, use_bias=False).apply(
      {'params': {'kernel': kernel}}, x)
  np.testing.assert_allclose(inputs['c/kernel'] @ kernel.reshape(-1, 4),
                             np.asarray(conv).reshape(-1, 4), rtol=1e-5,
                             atol=1e-5)
  assert inputs['d/kernel'].shape == (2, 64)


def test_1d_conv_patches_times_kernel_equal_the_conv_output():
  # The text CNN's convolutions are 1-D (width 4 over 9 tokens).
  x = np.random.default_rng(1).normal(size=(2, 9, 5)).astype(np.float32)
  conv = nn.Conv(3, (4,), padding='VALID', use_bias=False)
  v = conv.init(jax.random.key(0), x)
  patches = activations.layer_inputs(conv.apply, v, x)['kernel']
  kernel = np.asarray(v['params']['kernel'])
  assert patches.shape == (2 * 6, 4 * 5)
  np.testing.assert_allclose(patches @ kernel.reshape(-1, 3),
                             np.asarray(conv.apply(v, x)).reshape(-1, 3),
                             rtol=1e-5, atol=1e-5)
  # The kernel's own order matters: channel-major patches do not match.
  wrong = patches.reshape(12, 4, 5).transpose(0, 2, 1).reshape(12, 20)
  assert not np.allclose(wrong @ kernel.reshape(-1, 3),
                         np.asarray(conv.apply(v, x)).reshape(-1, 3),
                         atol=1e-3)
