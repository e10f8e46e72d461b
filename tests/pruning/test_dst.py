"""SET and RigL: exact counts, no same-update regrowth, NumPy reference."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lth_jax.pruning import dst
from lth_jax.pruning import scores as scores_lib
from lth_jax.pruning import sparse_optax


def _numpy_drop_grow(w, m, g, fraction):
  """RigL by hand: stable sorts give ties to the lower flat index."""
  w, m, g = (np.asarray(x).ravel() for x in (w, m, g))
  active, inactive = np.flatnonzero(m), np.flatnonzero(~m)
  k = min(int(np.round(fraction * len(active))), len(inactive))
  # Drop the k smallest |w| (ties: higher index dropped first, as the
  # selection keeps lower indices).
  keep_order = active[np.argsort(-np.abs(w[active]), kind='stable')]
  kept = keep_order[:len(active) - k]
  grow_order = inactive[np.argsort(-np.abs(g[inactive]), kind='stable')]
  new = np.zeros_like(m)
  new[kept] = True
  new[grow_order[:k]] = True
  return new


def _mlp():
  rng = np.random.default_rng(0)
  params = {'h': {'kernel': rng.normal(size=(6, 5)).astype(np.float32),
                  'bias': np.zeros(5, np.float32)},
            'o': {'kernel': rng.normal(size=(5, 3)).astype(np.float32),
                  'bias': np.zeros(3, np.float32)}}
  masks = {'h': {'kernel': rng.uniform(size=(6, 5)) < 0.5, 'bias': None},
           'o': {'kernel': np.arange(15).reshape(5, 3) % 2 == 0,
                 'bias': None}}

  def apply(p, x):
    return jax.nn.relu(x @ p['h']['kernel'] + p['h']['bias']) @ (
        p['o']['kernel']) + p['o']['bias']
  return params, masks, apply


def test_rigl_matches_numpy_reference_on_small_mlp():
  params, masks, apply = _mlp()
  x = np.random.default_rng(1).normal(size=(8, 6)).astype(np.float32)
  batch = (x, jnp.arange(8) % 3)
  loss = scores_lib.classification_loss(apply)
  grow = scores_lib.get_scorer('rigl_gradient')(params, masks,
                                                loss_fn=loss, batch=batch)
  effective = jax.tree.map(lambda m, p: p if m is None else p * m, masks,
                           params, is_leaf=lambda v: v is None)
  new = jax.jit(dst.update_masks, static_argnums=(0, 6))(
      'rigl', effective, masks, grow, None, 0.3, 'bitwise')
  for layer in ('h', 'o'):
    want = _numpy_drop_grow(effective[layer]['kernel'],
                            masks[layer]['kernel'],
                            grow[layer]['kernel'], 0.3)
    got = np.asarray(new[layer]['kernel']).ravel()
    np.testing.assert_array_equal(got, want)
    assert got.sum() == int(masks[layer]['kernel'].sum())
    assert not np.array_equal(got, np.asarray(masks[layer]['kernel']).ravel())
  assert new['h']['bias'] is None


def test_dropped_weight_is_never_regrown_in_the_same_update():
  # The dropped weight (index 1) has the largest growth score: a
  # drop-then-grow over the post-drop mask would take it back.
  w = jnp.array([.9, .01, 0., 0., .5])
  m = jnp.array([True, True, False, False, True])
  g = jnp.array([0., 10., 1., 2., 0.])
  new = dst.drop_and_grow_leaf(w, m, g, 0.34)
  np.testing.assert_array_equal(new, [True, False, False, True, True])


@pytest.mark.parametrize('method', ['set', 'rigl'])
def test_wrapper_keeps_exact_density_and_grown_weights_start_at_zero(method):
  params, _, apply = _mlp()
  tx = sparse_optax.wrap_optax(optax.adam(0.05), method, density=0.4,
                               distribution='uniform', total_steps=20,
                               update_every=4, key=jax.random.key(2),
                               select='bitwise')
  state = tx.init(params)
  params = sparse_optax.masked_params(params, state)
  counts = {k: int(state.masks[k]['kernel'].sum()) for k in ('h', 'o')}
  assert counts == {'h': 12, 'o': 6}
  x = np.random.default_rng(3).normal(size=(16, 6)).astype(np.float32)
  loss = scores_lib.classification_loss(apply)
  step = jax.jit(tx.update)
  changes = 0
  for t in range(20):
    grads = jax.grad(loss)(params, (x, jnp.arange(16) % 3))
    old = state.masks
    updates, state = step(grads, state, params)
    params = optax.apply_updates(params, updates)
    for k in ('h', 'o'):
      m, w = state.masks[k]['kernel'], params[k]['kernel']
      assert int(m.sum()) == counts[k]
      assert not np.any(np.asarray(w)[~np.asarray(m)])
      grown = np.asarray(m & ~old[k]['kernel'])
      if grown.any():
        changes += 1
        assert t in (4, 8, 12)
        np.testing.assert_array_equal(np.asarray(w)[grown], 0.0)
  assert changes >= 2  # updates happened, and none from 75 % (step 15) on


def test_wrapper_rejects_bad_arguments():
  with pytest.raises(ValueError, match='unknown sparse training method'):
    sparse_optax.wrap_optax(optax.sgd(1.), 'rigl2', density=0.1)
  with pytest.raises(ValueError, match='total_steps'):
    sparse_optax.wrap_optax(optax.sgd(1.), 'set', density=0.1)
  with pytest.raises(ValueError, match='no SparseState'):
    sparse_optax.current_masks(optax.sgd(1.).init({'w': jnp.ones(2)}))
