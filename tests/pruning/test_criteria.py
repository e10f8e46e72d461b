"""Zhou et al. 2019 mask criteria and kept/pruned-weight treatments."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax.pruning import criteria
from lth_jax.pruning import scoring

# A hand-made pair: one layer of 6 weights, chosen so that every criterion
# keeps a different pair (k = 2).
W_I = jnp.array([0.9, -0.1, 0.5, -0.6, 0.2, 0.05])
W_F = jnp.array([0.8, -0.7, -0.9, 0.1, 0.25, 0.0])
INIT = {'dense': {'kernel': W_I, 'bias': jnp.zeros(2)}}
FINAL = {'dense': {'kernel': W_F, 'bias': jnp.ones(2)}}
DENSE = {'dense': {'kernel': jnp.ones(6, bool), 'bias': None}}
COUNTS = {'dense': {'kernel': 2, 'bias': None}}

# |w_f|          = .8  .7  .9  .1  .25 0     -> keep 2, 0
# -|w_f|         ->                           keep 5, 3
# |w_i|          = .9  .1  .5  .6  .2  .05   -> keep 0, 3
# -|w_i|         ->                           keep 5, 1
# min            = .8  .1  .5  .1  .2  0     -> keep 0, 2
# |w_f|-|w_i|    = -.1 .6  .4 -.5  .05 -.05  -> keep 1, 2
# |w_f - w_i|    = .1  .6 1.4  .7  .05 .05   -> keep 2, 3
# same sign |w_f|= .8  .7  -   -   .25 -     -> keep 0, 1
EXPECTED = {
    'large_final': [0, 2],
    'small_final': [3, 5],
    'large_init': [0, 3],
    'small_init': [1, 5],
    'large_init_large_final': [0, 2],
    'magnitude_increase': [1, 2],
    'movement': [2, 3],
    'large_final_same_sign': [0, 1],
}


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_criterion_keeps_expected_weights(name):
  masks = criteria.criterion_masks(name, INIT, FINAL, DENSE, COUNTS)
  kept = np.flatnonzero(np.asarray(masks['dense']['kernel'])).tolist()
  assert kept == EXPECTED[name]
  assert masks['dense']['bias'] is None


def test_scores_are_the_published_formulas():
  scores = scoring.score('magnitude_increase', FINAL, DENSE, init=INIT)
  np.testing.assert_allclose(scores['dense']['kernel'],
                             jnp.abs(W_F) - jnp.abs(W_I), rtol=1e-6)
  scores = scoring.score('movement', FINAL, DENSE, init=INIT)
  np.testing.assert_allclose(scores['dense']['kernel'], jnp.abs(W_F - W_I),
                             rtol=1e-6)
  assert scores['dense']['bias'] is None


def test_every_registered_criterion_is_tested_and_exact():
  assert set(criteria.all_criterion_names()) == set(EXPECTED) | {'random'}
  rng = np.random.default_rng(0)
  init = {'a': jnp.asarray(rng.normal(size=(30, 20)), jnp.float32),
          'b': jnp.asarray(rng.normal(size=(20, 5)), jnp.float32)}
  final = jax.tree.map(lambda x: x + 0.3 * jnp.asarray(
      rng.normal(size=x.shape), jnp.float32), init)
  dense = jax.tree.map(lambda x: jnp.ones(x.shape, bool), init)
  counts = criteria.layer_counts(dense, {'a': 0.3, 'b': 0.5})
  assert counts == {'a': 180, 'b': 50}
  for name in criteria.all_criterion_names():
    masks = criteria.criterion_masks(name, init, final, dense, counts,
                                     key=jax.random.key(1))
    assert int(masks['a'].sum()) == 180 and int(masks['b'].sum()) == 50


def test_random_differs_by_key_and_ignores_weights():
  a = criteria.criterion_masks('random', INIT, FINAL, DENSE, COUNTS,
                               key=jax.random.key(0))
  b = criteria.criterion_masks('random', INIT, None, DENSE, COUNTS,
                               key=jax.random.key(0))
  np.testing.assert_array_equal(a['dense']['kernel'], b['dense']['kernel'])
  big = {'w': jnp.zeros(1000)}
  m = {'w': jnp.ones(1000, bool)}
  c1 = criteria.criterion_masks('random', big, None, m, {'w': 500},
                                key=jax.random.key(0))
  c2 = criteria.criterion_masks('random', big, None, m, {'w': 500},
                                key=jax.random.key(1))
  assert not bool(jnp.all(c1['w'] == c2['w']))


def test_bad_input_errors_name_the_fix():
  with pytest.raises(ValueError, match=r"unknown mask criterion 'largest'; "
                     r'known: large_final, .*movement'):
    criteria.criterion_masks('largest', INIT, FINAL, DENSE, COUNTS)
  with pytest.raises(ValueError, match='needs the final weights.*finish '
                     'training'):
    criteria.criterion_masks('movement', INIT, None, DENSE, COUNTS)
  # large_init needs no final weights.
  criteria.criterion_masks('large_init', INIT, None, DENSE, COUNTS)
  for bad in (0.0, -0.1, 1.5):
    with pytest.raises(ValueError, match=r'outside \(0, 1\]'):
      criteria.layer_counts(DENSE, bad)
  with pytest.raises(ValueError, match='needs a PRNG key'):
    criteria.criterion_masks('random', INIT, FINAL, DENSE, COUNTS)
  with pytest.raises(ValueError, match='unknown kept-weight treatment'):
    criteria.supermask_params(INIT, DENSE, kept='rewind')


MASK = {'dense': {'kernel': jnp.array([True, True, False, True, False,
                                       False]), 'bias': None}}


def test_kept_treatments():
  keep = np.asarray(MASK['dense']['kernel'])
  rewound = criteria.supermask_params(INIT, MASK, 'init')['dense']
  np.testing.assert_array_equal(rewound['kernel'],
                                np.where(keep, W_I, 0.0))
  np.testing.assert_array_equal(rewound['bias'], INIT['dense']['bias'])

  fresh = {'dense': {'kernel': jnp.arange(6.0) + 1, 'bias': jnp.zeros(2)}}
  reinit = criteria.supermask_params(INIT, MASK, 'reinit', fresh=fresh)
  np.testing.assert_array_equal(reinit['dense']['kernel'],
                                [1., 2., 0., 4., 0., 0.])

  sigma = float(np.std(np.asarray(W_I)))
  const = criteria.supermask_params(INIT, MASK, 'signed_constant')
  np.testing.assert_allclose(const['dense']['kernel'],
                             [sigma, -sigma, 0, -sigma, 0, 0], rtol=1e-6)

  values = jnp.arange(100.0) + 1
  m = jnp.asarray(np.random.default_rng(0).random(100) < 0.4)
  out = criteria.supermask_params({'w': values}, {'w': m}, 'reshuffle',
                                  key=jax.random.key(3))['w']
  # The kept values are a permutation of the kept init values, moved.
  np.testing.assert_array_equal(np.sort(out[m]), np.sort(values[m]))
  assert not bool(jnp.all(out[m] == values[m]))
  np.testing.assert_array_equal(out[~m], 0.0)


def test_pruned_frozen_at_init():
  out = criteria.supermask_params(INIT, MASK, 'signed_constant',
                                  pruned='frozen')['dense']['kernel']
  keep = np.asarray(MASK['dense']['kernel'])
  np.testing.assert_array_equal(np.asarray(out)[~keep],
                                np.asarray(W_I)[~keep])
