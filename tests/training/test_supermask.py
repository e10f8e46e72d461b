"""Learned supermasks: exact top-k forward, straight-through gradients to
the scores, frozen weights."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import models
from lth_jax import pruning
from lth_jax.training import batching
from lth_jax.training import supermask_steps as sm


def tiny_mlp():
  model = models.get_model('mlp', num_classes=3, hidden=(16,))
  params = model.init(jax.random.key(0), jnp.zeros((1, 4, 4, 1)))['params']
  return model, params, pruning.ones_like(params)


def tiny_data(n=96, seed=0):
  rng = np.random.default_rng(seed)
  centers = rng.normal(size=(3, 4, 4, 1)).astype(np.float32)
  y = rng.integers(0, 3, n).astype(np.int32)
  x = centers[y] + 0.3 * rng.normal(size=(n, 4, 4, 1)).astype(np.float32)
  return batching.DeviceData(*(jnp.asarray(a) for a in (x, y, x, y, x, y)))


def state_for(method, remaining=0.3, lr=0.1, rescale=False):
  model, params, masks = tiny_mlp()
  weights = sm.frozen_weights(jax.random.key(1), params, masks,
                              'kaiming_normal')
  return sm.create_state(model, weights, masks, remaining,
                         jax.random.key(2), jax.random.key(3),
                         sm.make_optimizer(lr, 50), method, rescale=rescale)


@pytest.mark.parametrize('remaining', [0.1, 0.7, 1.0])
def test_forward_uses_exactly_k_of_each_layer(remaining):
  state = state_for('edge_popup', remaining)
  for train in (True, False):
    eff = sm.effective_params(state, state.params, train)
    for path in ('hidden_0', 'output'):
      w, e = state.weights[path]['kernel'], eff[path]['kernel']
      kept = np.asarray(e != 0)
      assert kept.sum() == round(remaining * w.size)
      # The kept weights are the largest |score| and keep their value.
      s = np.abs(np.asarray(state.params[path]['kernel']))
      assert s[kept].min() >= s[~kept].max(initial=-1)
      np.testing.assert_array_equal(np.asarray(e)[kept],
                                    np.asarray(w)[kept])
    # Biases are not masked.
    np.testing.assert_array_equal(eff['output']['bias'],
                                  state.weights['output']['bias'])


def test_straight_through_gradient_reaches_every_score():
  state = state_for('edge_popup', 0.3)
  data = tiny_data()
  x, y = data.train_images[:32], data.train_labels[:32]

  def loss(scores):
    eff = sm.effective_params(state, scores, True)
    logits = state.apply_fn({'params': eff}, x)
    return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(32), y])

  grads = jax.grad(loss)(state.params)
  g = np.asarray(grads['hidden_0']['kernel'])
  kept = np.asarray(sm.eval_masks(state)['hidden_0']['kernel'])
  # Pruned weights get gradients too (straight through the top-k) ...
  assert np.count_nonzero(g[~kept]) > 0.5 * (~kept).sum()
  # ... and the gradient is dL/d(w m) * w * sign(s).
  def loss_eff(eff_kernel):
    eff = sm.effective_params(state, state.params, False)
    eff['hidden_0']['kernel'] = eff_kernel
    logits = state.apply_fn({'params': eff}, x)
    return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(32), y])

  eff = sm.effective_params(state, state.params, False)
  g_eff = jax.grad(loss_eff)(eff['hidden_0']['kernel'])
  w = state.weights['hidden_0']['kernel']
  s = state.params['hidden_0']['kernel']
  np.testing.assert_allclose(g, g_eff * w * jnp.sign(s), rtol=1e-5,
                             atol=1e-8)


@pytest.mark.parametrize('method,rescale', [('edge_popup', False),
                                            ('bernoulli', True)])
def test_training_moves_scores_never_weights(method, rescale):
  lr = 0.5 if method == 'edge_popup' else 50.0
  state = state_for(method, 0.5, lr=lr, rescale=rescale)
  data = tiny_data()
  before = sm.evaluate(state, data.test_images, data.test_labels)
  weights = jax.tree.map(np.array, state.weights)
  scores = jax.tree.map(np.array, state.params)
  new, _ = sm.train_steps(state, data, 40, 16)
  jax.tree.map(np.testing.assert_array_equal, weights,
               jax.tree.map(np.asarray, new.weights))
  moved = jax.tree.map(lambda a, b: float(np.abs(a - np.asarray(b)).max()),
                       scores, new.params)
  assert min(jax.tree.leaves(moved)) > 0
  after = sm.evaluate(new, data.test_images, data.test_labels)
  assert float(after['loss']) < float(before['loss'])
  assert float(after['acc']) > float(before['acc'])
  if method == 'edge_popup':
    assert float(after['density']) == pytest.approx(0.5, abs=0.01)
  else:   # evaluated at the density it trained at, wherever it drifted
    assert float(after['density']) == pytest.approx(
        float(after['expected_density']), abs=2 / 64)


def test_bernoulli_is_evaluated_at_its_trained_expected_density():
  state = state_for('bernoulli', 0.5)
  # Scores that drifted to an expected density of about 0.2 in hidden_0
  # and 0.8 in the output layer, away from the initial 0.5.
  rng = np.random.default_rng(0)
  target = {'hidden_0': 0.2, 'output': 0.8}
  scores = jax.tree.map(lambda s: s, state.params)
  for layer, d in target.items():
    shape = scores[layer]['kernel'].shape
    logit = np.log(d) - np.log1p(-d) + rng.normal(0, 1, shape)
    scores[layer]['kernel'] = jnp.asarray(logit, jnp.float32)
  state = state.replace(params=scores)
  masks = sm.eval_masks(state)
  for layer in target:
    s = np.asarray(scores[layer]['kernel'])
    expected = round(float(np.sum(1 / (1 + np.exp(-s)))))
    kept = np.asarray(masks[layer]['kernel'])
    assert kept.sum() == expected   # not round(0.5 n), the initial one
    assert s[kept].min() >= s[~kept].max()
  data = tiny_data()
  out = sm.evaluate(state, data.test_images, data.test_labels)
  n = sum(s.size for s in jax.tree.leaves(scores))
  assert float(out['density']) == pytest.approx(
      float(out['expected_density']), abs=2 / n)
  assert abs(float(out['density']) - 0.5) > 0.1
  # Edge-popup keeps its fixed count whatever its scores.
  popup = state_for('edge_popup', 0.5)
  popup = popup.replace(params=scores)
  assert int(np.asarray(sm.eval_masks(popup)['hidden_0']['kernel']).sum()) \
      == round(0.5 * scores['hidden_0']['kernel'].size)


def test_bernoulli_samples_and_rescales():
  state = state_for('bernoulli', 0.3, rescale=True)
  eff = sm.effective_params(state, state.params, True, jax.random.key(5))
  k = eff['hidden_0']['kernel']
  w = state.weights['hidden_0']['kernel']
  kept = np.asarray(k != 0)
  # About 30 % sampled; kept weights scaled by n / sum(m).
  assert 0.2 < kept.mean() < 0.4
  np.testing.assert_allclose(np.asarray(k)[kept],
                             np.asarray(w)[kept] * kept.size / kept.sum(),
                             rtol=1e-5)
  other = sm.effective_params(state, state.params, True, jax.random.key(6))
  assert not bool(jnp.all((other['hidden_0']['kernel'] != 0) == kept))


def test_signed_constant_weights():
  _, params, masks = tiny_mlp()
  w = sm.frozen_weights(jax.random.key(0), params, masks, 'signed_constant')
  k = np.asarray(w['hidden_0']['kernel'])
  np.testing.assert_allclose(np.abs(k), np.sqrt(2 / 16))
  assert 0.3 < (k > 0).mean() < 0.7
  np.testing.assert_array_equal(w['hidden_0']['bias'],
                                params['hidden_0']['bias'])


def test_bad_input():
  with pytest.raises(ValueError, match=r'outside \(0, 1\]'):
    state_for('edge_popup', 0.0)
  with pytest.raises(ValueError, match=r'outside \(0, 1\]'):
    state_for('edge_popup', 1.2)
  with pytest.raises(ValueError, match='unknown supermask method'):
    state_for('edgepopup')
