"""Wanda and SparseGPT against NumPy references and magnitude pruning."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lth_jax import models
from lth_jax.pruning import distributions
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import oneshot
from lth_jax.training import activations


def _obs_reference(w, x, count, damp=0.01):
  """OBS by sequential elimination of H^-1 (no Cholesky, no blocks)."""
  w = w.astype(np.float64).T.copy()  # [out, in]
  h = x.T @ x
  h += damp * np.mean(np.diag(h)) * np.eye(len(h))
  hinv = np.linalg.inv(h)
  # Saliency diagonals: H^-1 after eliminating the earlier features.
  diag, tmp = np.zeros(len(h)), hinv.copy()
  for i in range(len(h)):
    diag[i] = tmp[i, i]
    tmp -= np.outer(tmp[:, i], tmp[i, :]) / tmp[i, i]
  saliency = (w ** 2 / diag).ravel()
  order = np.argsort(-saliency, kind='stable')  # ties: lower index kept
  keep = np.zeros(w.size, bool)
  keep[order[:count]] = True
  keep = keep.reshape(w.shape)
  for i in range(w.shape[1]):
    err = np.where(keep[:, i], 0.0, w[:, i]) / hinv[i, i]
    w[:, i:] -= np.outer(err, hinv[i, i:])
    hinv -= np.outer(hinv[:, i], hinv[i, :]) / hinv[i, i]
  return np.where(keep, w, 0.0).T, keep.T


def test_sparsegpt_equals_numpy_obs_reference_on_a_small_layer():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(64, 12)) @ rng.normal(size=(12, 12))
  w = rng.normal(size=(12, 5)).astype(np.float32)
  got = oneshot.sparsegpt_layer(w, x, 24)
  want_w, want_mask = _obs_reference(w, x, 24)
  np.testing.assert_array_equal(got.mask, want_mask)
  np.testing.assert_allclose(got.kernel, want_w, rtol=1e-4, atol=1e-5)
  assert got.mask.sum() == 24
  # Negative case: without the OBS update (mask only) the error is larger.
  plain = oneshot.reconstruction_error(x, w, np.where(got.mask, w, 0))
  assert got.error < plain


def test_wanda_mask_equals_numpy_reference():
  rng = np.random.default_rng(1)
  x = rng.normal(size=(32, 10)) * rng.uniform(0.1, 5, 10)
  w = rng.normal(size=(10, 4)).astype(np.float32)
  params = {'d': {'kernel': w, 'bias': np.zeros(4, np.float32)}}
  masks = masks_lib.ones_like(params)
  counts = {'d': {'kernel': 20, 'bias': None}}
  out = oneshot.prune_network('wanda', params, masks, {'d/kernel': x},
                              counts)
  score = np.abs(w) * np.linalg.norm(x, axis=0)[:, None]
  want = np.zeros_like(w, bool)
  for o in range(4):  # each output keeps its top 5 of 10
    want[np.argsort(-score[:, o], kind='stable')[:5], o] = True
  np.testing.assert_array_equal(out.masks['d']['kernel'], want)
  # Negative case: per-output selection differs from a layer-wide top 20.
  flat = np.zeros(w.size, bool)
  flat[np.argsort(-score.ravel(), kind='stable')[:20]] = True
  assert not np.array_equal(flat.reshape(w.shape), want)
  with pytest.raises(ValueError, match='input_norms'):
    oneshot.wanda(params, masks)


def test_sparsegpt_error_at_most_magnitude_on_trained_lenet():
  rng = np.random.default_rng(2)
  centers = rng.normal(size=(10, 28, 28, 1)).astype(np.float32)
  y = rng.integers(0, 10, 256)
  x = centers[y] + rng.normal(size=(256, 28, 28, 1)).astype(np.float32)
  model = models.get_model('lenet300_100', num_classes=10)
  params = model.init(jax.random.key(0), x[:1])['params']
  tx = optax.adam(1e-3)

  @jax.jit
  def step(p, s, xb, yb):
    def loss(q):
      return optax.softmax_cross_entropy_with_integer_labels(
          model.apply({'params': q}, xb), yb).mean()
    g = jax.grad(loss)(p)
    u, s = tx.update(g, s, p)
    return optax.apply_updates(p, u), s

  state = tx.init(params)
  for i in range(8):
    params, state = step(params, state, x[i * 32:(i + 1) * 32],
                         y[i * 32:(i + 1) * 32])
  inputs = activations.layer_inputs(model.apply, {'params': params}, x[:128])
  masks = masks_lib.ones_like(params)
  assert sorted(inputs) == sorted(masks_lib.prunable_paths(masks))
  counts = distributions.layer_counts(masks, 0.1, 'uniform')
  mag = oneshot.prune_network('magnitude', params, masks, inputs, counts)
  gpt = oneshot.prune_network('sparsegpt', params, masks, inputs, counts)
  for path in mag.errors:
    assert gpt.errors[path] <= mag.errors[path], path
  kept = [int(m.sum()) for m in masks_lib.mask_leaves(gpt.masks)]
  assert kept == [c for c in jax.tree.leaves(counts)]
