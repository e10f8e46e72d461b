"""Mask distances and the early-bird criterion (lth_jax.pruning.distance)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import pruning
from lth_jax.pruning import distance


def mask(bits, bias=False):
  """A two-leaf mask tree from a string of 0/1 (first 4 bits: leaf 'a')."""
  arr = np.array([c == '1' for c in bits])
  return {'a': {'kernel': jnp.asarray(arr[:4].reshape(2, 2)),
                'bias': None},
          'b': {'kernel': jnp.asarray(arr[4:])}}


def test_distance_matrix_pins_hand_made_sequence():
  seq = [mask('11110000'), mask('11100001'), mask('00001111'),
         mask('11110000')]
  d = distance.distance_matrix(seq)
  expected = np.array([[0, 2, 8, 0], [2, 0, 6, 2], [8, 6, 0, 8],
                       [0, 2, 8, 0]]) / 8
  np.testing.assert_array_equal(d, expected)
  for i, a in enumerate(seq):          # agrees with the pairwise metric
    for j, b in enumerate(seq):
      assert d[i, j] == pruning.hamming_distance(a, b)


def test_distance_matrix_random_masks_match_pairwise():
  key = jax.random.key(0)
  seq = [{'w': jax.random.bernoulli(k, 0.3, (37, 11)), 'b': None,
          'v': jax.random.bernoulli(jax.random.fold_in(k, 1), 0.6, (5,))}
         for k in jax.random.split(key, 6)]
  d = distance.distance_matrix(seq)
  assert d.shape == (6, 6)
  np.testing.assert_array_equal(d, d.T)
  assert (np.diag(d) == 0).all()
  for i in range(6):
    for j in range(6):
      assert d[i, j] == pytest.approx(
          pruning.hamming_distance(seq[i], seq[j]), abs=1e-12)


def test_distance_matrix_rejects_mixed_structures():
  with pytest.raises(ValueError, match='different structures'):
    distance.distance_matrix([{'w': jnp.ones(2, bool)},
                              {'w': jnp.ones(2, bool), 'v': jnp.ones(1, bool)}])


# 10 positions; each mask differs from the previous one in the bits listed.
def _drifting_sequence(changes):
  bits = np.zeros(10, bool)
  bits[:5] = True
  seq = [{'w': jnp.asarray(bits.copy())}]
  for flip in changes:
    bits = bits.copy()
    bits[list(flip)] = ~bits[list(flip)]
    seq.append({'w': jnp.asarray(bits)})
  return seq


def test_early_bird_fires_at_first_stable_window():
  # Big moves, then single-bit moves that cancel: from mask 5 on, each
  # mask is within 1 bit (0.1) of the four before it.
  seq = _drifting_sequence([(0, 5), (1, 6), (2, 7), (9,), (9,), (9,), (9,),
                            (9,)])
  steps = [0, 10, 20, 30, 40, 50, 60, 70, 80]
  d = distance.distance_matrix(seq)
  # Newest vs the 4 older at index 7: masks 3..6 (3 and 5 equal, 4 and 6
  # equal, 7 equals 3): distances 0, .1, 0, .1 -> fires at index 7.
  assert distance.early_bird_from_distances(d) == 7
  assert distance.early_bird_step(seq, steps) == 70
  # At index 6, mask 2 (3 bits from mask 6) is still in the window.
  assert d[6, 2] > 0.1
  # The threshold is inclusive: all four distances == 0.1 fire.
  assert distance.early_bird_step(seq, steps, threshold=0.0999) is None


def test_early_bird_needs_a_full_window():
  same = [mask('11110000')] * 4
  assert distance.early_bird_step(same, [1, 2, 3, 4]) is None  # 4 < 5
  assert distance.early_bird_step(same + same[:1], [1, 2, 3, 4, 5]) == 5
  assert distance.early_bird_step(same, [1, 2, 3, 4], window=2) == 2


def test_early_bird_bad_input():
  same = [mask('11110000')] * 3
  with pytest.raises(ValueError, match='integer >= 2'):
    distance.early_bird_step(same, [1, 2, 3], window=1)
  with pytest.raises(ValueError, match='one step per mask'):
    distance.early_bird_step(same, [1, 2])
  with pytest.raises(ValueError, match='strictly increasing'):
    distance.early_bird_step(same, [1, 3, 2], window=2)


def test_previous_distances():
  seq = [mask('11110000'), mask('11100001'), mask('11100001')]
  np.testing.assert_array_equal(
      distance.previous_distances(distance.distance_matrix(seq)),
      [np.nan, 0.25, 0.0])


def test_bn_channel_mask_global_quantile_strict():
  params = {'Conv_0': {'kernel': jnp.ones((3, 3, 1, 2))},
            'BatchNorm_0': {'scale': jnp.array([0.5, -0.1, 0.3]),
                            'bias': jnp.zeros(3)},
            'BatchNorm_1': {'scale': jnp.array([-0.3, 0.05])}}
  # sorted |gamma| = .05 .1 .3 .3 .5; percent .4 -> index 2 -> thre .3;
  # strict >: only .5 survives (both .3 are pruned).
  m = distance.bn_channel_mask(params, 0.4)
  assert m['Conv_0']['kernel'] is None
  assert m['BatchNorm_0']['bias'] is None
  assert m['BatchNorm_0']['scale'].tolist() == [True, False, False]
  assert m['BatchNorm_1']['scale'].tolist() == [False, False]
  # percent 0 -> thre is the minimum: it alone is pruned.
  m0 = distance.bn_channel_mask(params, 0.0)
  assert m0['BatchNorm_1']['scale'].tolist() == [True, False]
  with pytest.raises(ValueError, match='no batch-norm scale'):
    distance.bn_channel_mask({'Dense_0': {'kernel': jnp.ones(2)}}, 0.5)
  with pytest.raises(ValueError, match=r'outside \[0, 1\)'):
    distance.bn_channel_mask(params, 1.0)


def test_labels():
  assert 'published' not in distance.criterion_label(True)
  assert distance.criterion_label(True).startswith('early-bird (You et al.')
  assert 'our extension' in distance.criterion_label(False)
