"""Channel slimming of a Conv-2 ticket: zombie maps folded, same logits."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import models
from lth_jax.export import slim_conv


def channel_ticket():
  """Conv-2 on 8x8x3 with whole filters pruned (positive biases: zombies
  with constant maps), two conv_0 channels nobody reads, dead dense units.
  """
  model = models.get_model('conv2')
  rng = np.random.default_rng(0)
  shapes = jax.eval_shape(model.init, jax.random.key(0),
                          jnp.zeros((1, 8, 8, 3)))['params']
  params = jax.tree.map(
      lambda s: rng.normal(0, .1, s.shape).astype(np.float32), shapes)
  masks = {}
  for name, p in params.items():
    params[name]['bias'] = rng.uniform(.1, .5, p['bias'].shape).astype(
        np.float32)
    masks[name] = {'kernel': np.ones(p['kernel'].shape, bool), 'bias': None}
  masks['conv_0']['kernel'][..., :10] = False  # Pruned filters: zombies.
  masks['conv_1']['kernel'][:, :, 50:52, :] = False  # Read by no one.
  masks['conv_1']['kernel'][..., :5] = False  # Zombies feeding dense_0.
  masks['dense_1']['kernel'][:, 200:] = False  # Zombie dense units.
  return model, params, masks


def test_channel_ticket_slims_to_the_same_logits():
  model, params, masks = channel_ticket()
  s = slim_conv.slim_convnet(params, masks, (8, 8, 3))
  r = slim_conv.report(params, s)
  assert r['units_after'] == [64 - 10 - 2, 64 - 5, 256, 200, 10]
  assert s.layers[1].bias.shape == (8, 8, 59)  # conv_0 zombies: a map.
  assert s.layers[2].bias.shape == (256,)
  x = np.random.default_rng(1).normal(size=(16, 8, 8, 3)).astype(np.float32)
  masked = {n: {'kernel': p['kernel'] * masks[n]['kernel'], 'bias': p['bias']}
            for n, p in params.items()}
  want = np.asarray(jax.jit(model.apply)({'params': masked}, x))
  got = np.asarray(jax.jit(s.forward)(x))
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
  flat = s._replace(layers=[l._replace(bias=l.bias[0, 0]) if l.bias.ndim == 3
                            else l for l in s.layers])
  assert np.abs(np.asarray(jax.jit(flat.forward)(x)) - want).max() > 1e-3
  np.testing.assert_allclose(  # The NumPy path (used to slim) agrees.
      flat.forward(np.asarray(x)), np.asarray(jax.jit(flat.forward)(x)),
      rtol=1e-4, atol=1e-4)


def test_not_a_convnet_is_named():
  with pytest.raises(ValueError, match='not a ConvNet'):
    slim_conv.slim_convnet({'hidden_0': {'kernel': np.ones((2, 2))}}, None,
                           (2,))
