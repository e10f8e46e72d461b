"""Magnitude and random pruning: exact counts, shrinking masks, ties."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import pruning


def lenet_like(seed=0):
  rng = np.random.default_rng(seed)
  return {'hidden_0': {'kernel': jnp.asarray(rng.normal(size=(784, 300)),
                                             jnp.float32),
                       'bias': jnp.zeros(300)},
          'hidden_1': {'kernel': jnp.asarray(rng.normal(size=(300, 100)),
                                             jnp.float32),
                       'bias': jnp.zeros(100)},
          'output': {'kernel': jnp.asarray(rng.normal(size=(100, 10)),
                                           jnp.float32),
                     'bias': jnp.zeros(10)}}


RATES = {'output/': 0.1, '.*': 0.2}


@pytest.mark.parametrize('levels', [1, 3, 7, 15])
def test_layerwise_exact_counts_after_levels(levels):
  params = lenet_like()
  masks = pruning.ones_like(params)
  for level in range(1, levels + 1):
    # Re-draw "trained" weights every level: counts must not depend on them.
    params = lenet_like(level)
    new = pruning.prune_layerwise(params, masks, RATES, level=level)
    for path, old_m, new_m in zip(pruning.prunable_paths(masks),
                                  jax.tree.leaves(masks), jax.tree.leaves(new)):
      assert not bool(jnp.any(new_m & ~old_m)), f'{path} grew at {level}'
    masks = new
  report = pruning.sparsity_report(masks)
  for path, layer in report['layers'].items():
    p = 0.1 if path.startswith('output') else 0.2
    assert layer['remaining'] == round((1 - p) ** levels * layer['size']), path


def test_layerwise_keeps_largest_magnitudes():
  params = lenet_like()
  masks = pruning.ones_like(params)
  new = pruning.prune_layerwise(params, masks, 0.5, level=1)
  w = np.abs(np.asarray(params['hidden_1']['kernel'])).ravel()
  kept = np.asarray(new['hidden_1']['kernel']).ravel()
  assert w[kept].min() >= w[~kept].max()


def test_ties_broken_by_index_and_never_revive():
  p = {'w': jnp.array([1., 1., 1., 1., 5., 1.])}
  m = {'w': jnp.array([True, False, True, True, True, True])}
  new = pruning.prune_layerwise(p, m, 0.4)  # 5 remaining -> keep 3
  np.testing.assert_array_equal(new['w'], [1, 0, 1, 0, 1, 0])


def test_unleveled_rate_is_of_remaining():
  p = {'w': jnp.arange(1., 11.)}
  m = {'w': jnp.arange(10) >= 2}  # 8 remaining
  assert int(pruning.prune_layerwise(p, m, 0.25)['w'].sum()) == 6


@pytest.mark.parametrize('rate', [-0.1, 1.0, 1.5])
def test_rates_outside_unit_interval_raise(rate):
  p = lenet_like()
  with pytest.raises(ValueError, match=r'outside \[0, 1\)'):
    pruning.prune_layerwise(p, pruning.ones_like(p), rate)
  with pytest.raises(ValueError, match=r'outside \[0, 1\)'):
    pruning.prune_global(p, pruning.ones_like(p), rate)


def test_layer_without_a_rate_is_an_error():
  p = lenet_like()
  with pytest.raises(ValueError, match="no pruning rate matches.*hidden_0"):
    pruning.prune_layerwise(p, pruning.ones_like(p), {'output/': 0.1})


def test_global_one_threshold_exact_count():
  params = lenet_like()
  masks = pruning.ones_like(params)
  for level in (1, 2, 3):
    masks = pruning.prune_global(params, masks, 0.2, level=level)
  report = pruning.sparsity_report(masks)
  assert report['remaining'] == round(0.8 ** 3 * report['size'])
  names = ('hidden_0', 'hidden_1', 'output')
  w = [np.abs(np.asarray(params[k]['kernel'])) for k in names]
  m = [np.asarray(masks[k]['kernel']) for k in names]
  kept = np.concatenate([x[y] for x, y in zip(w, m)])
  gone = np.concatenate([x[~y] for x, y in zip(w, m)])
  assert kept.min() >= gone.max()


def test_prune_under_jit_matches_eager():
  params = lenet_like()
  masks = pruning.ones_like(params)
  eager = pruning.prune_layerwise(params, masks, RATES, level=2)
  jitted = jax.jit(lambda p, m: pruning.prune_layerwise(p, m, RATES, 2))(
      params, masks)
  for a, b in zip(jax.tree.leaves(eager), jax.tree.leaves(jitted)):
    np.testing.assert_array_equal(a, b)


def test_random_like_same_per_layer_counts():
  params = lenet_like()
  masks = pruning.prune_layerwise(params, pruning.ones_like(params), RATES,
                                  level=4)
  rand = pruning.random_like(jax.random.key(3), masks)
  for a, b in zip(jax.tree.leaves(masks), jax.tree.leaves(rand)):
    assert int(a.sum()) == int(b.sum())
  assert pruning.hamming_distance(masks, rand) > 0.1


def test_random_like_global_count():
  params = lenet_like()
  masks = pruning.prune_global(params, pruning.ones_like(params), 0.5,
                               level=1)
  rand = pruning.random_like(jax.random.key(0), masks, scope='global')
  assert (pruning.sparsity_report(rand)['remaining']
          == pruning.sparsity_report(masks)['remaining'])
  with pytest.raises(ValueError, match='scope'):
    pruning.random_like(jax.random.key(0), masks, scope='layr')


def test_rewind_equals_source_where_kept_and_zero_elsewhere():
  init, trained = lenet_like(0), lenet_like(1)
  masks = pruning.prune_layerwise(trained, pruning.ones_like(trained), 0.5,
                                  level=1)
  rewound = pruning.rewind(init, masks)
  k, m = np.asarray(rewound['hidden_0']['kernel']), np.asarray(
      masks['hidden_0']['kernel'])
  np.testing.assert_array_equal(k[m], np.asarray(init['hidden_0']['kernel'])[m])
  assert (k[~m] == 0).all()
  np.testing.assert_array_equal(rewound['output']['bias'],
                                init['output']['bias'])


def test_distances():
  a = {'w': jnp.array([1, 1, 0, 0], bool), 'b': None}
  b = {'w': jnp.array([1, 0, 1, 0], bool), 'b': None}
  assert pruning.hamming_distance(a, b) == 0.5
  assert pruning.iou(a, b) == pytest.approx(1 / 3)
  assert pruning.hamming_distance(a, a) == 0.0


def test_mask_comes_from_the_weights_passed_not_init():
  """The thesis bug: masks computed from initial instead of trained weights."""
  init, trained = lenet_like(0), lenet_like(1)
  m0 = pruning.ones_like(init)
  from_trained = pruning.prune_layerwise(trained, m0, 0.5, level=1)
  from_init = pruning.prune_layerwise(init, m0, 0.5, level=1)
  assert pruning.hamming_distance(from_trained, from_init) > 0.2
