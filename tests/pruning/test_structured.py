"""N:M and channel pruning against loop-based references."""
import itertools

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

import lth_jax.pruning as pruning
from lth_jax.lottery import strategies
from lth_jax.pruning import structured


def reference_n_m(w, mask, n, m, axis):
  """Loops over every group; stable sort of -|w| among unmasked entries."""
  w = np.moveaxis(np.abs(np.asarray(w, np.float32)), axis, -1)
  mask = np.moveaxis(np.asarray(mask, bool), axis, -1)
  out = np.zeros_like(mask)
  for idx in itertools.product(*map(range, w.shape[:-1])):
    for start in range(0, w.shape[-1], m):
      s, mk = w[idx][start:start + m], mask[idx][start:start + m]
      order = [j for j in np.argsort(-s, kind='stable') if mk[j]][:n]
      for j in order:
        out[idx + (start + j,)] = True
  return np.moveaxis(out, -1, axis)


def reference_channels(w, mask, rate, norm, level, axis=-1):
  w = np.moveaxis(np.asarray(w, np.float32), axis, -1)
  mask = np.moveaxis(np.asarray(mask, bool), axis, -1)
  flat_w = np.where(mask, w, 0).reshape(-1, w.shape[-1])
  norms = (np.abs(flat_w).sum(0) if norm == 'l1'
           else np.sqrt((flat_w * flat_w).sum(0)))
  alive = mask.reshape(-1, w.shape[-1]).any(0)
  k = min(int(alive.sum()), round((1 - rate) ** level * alive.size))
  order = [c for c in np.argsort(-norms, kind='stable') if alive[c]][:k]
  keep = np.zeros(alive.size, bool)
  keep[order] = True
  return np.moveaxis(mask & keep, -1, axis)


def random_leaf(rng, shape, masked=0.2):
  w = (rng.integers(-3, 4, size=shape) * 0.5).astype(np.float32)  # Ties.
  return w, rng.random(shape) > masked


@pytest.mark.parametrize('shape,n,m,axis', [
    ((8, 3), 2, 4, -2), ((10, 5), 2, 4, -2), ((3, 3, 6, 4), 1, 4, -2),
    ((3, 3, 8, 2), 2, 8, -2), ((5, 7), 2, 4, -1), ((2, 4), 4, 4, 0)])
def test_n_m_matches_reference(shape, n, m, axis):
  rng = np.random.default_rng(sum(shape))
  w, mask = random_leaf(rng, shape)
  got = np.asarray(structured.n_m_mask(jnp.abs(w), mask, n, m, axis))
  np.testing.assert_array_equal(got, reference_n_m(w, mask, n, m, axis))
  assert not (got & ~mask).any()


def test_prune_n_m_tree_is_two_four_and_skips_other_leaves():
  rng = np.random.default_rng(0)
  params = {'dense': {'kernel': rng.standard_normal((16, 8)).astype(
      np.float32), 'bias': np.ones(8, np.float32)},
            'conv': {'kernel': rng.standard_normal((3, 3, 8, 4)).astype(
                np.float32)},
            'vec': {'w': np.ones(4, np.float32)}}
  masks = pruning.ones_like(params)
  new = pruning.prune_n_m(params, masks, 2, 4)
  assert new['dense']['bias'] is None
  np.testing.assert_array_equal(new['vec']['w'], masks['vec']['w'])
  for k in ('dense', 'conv'):
    kernel = np.asarray(new[k]['kernel'])
    groups = np.moveaxis(kernel, -2, -1).reshape(-1, 4)
    assert (groups.sum(-1) == 2).all()


def test_n_m_validates_n_and_m():
  with pytest.raises(ValueError, match='1 <= N <= M'):
    structured.n_m_mask(jnp.ones((4, 4)), jnp.ones((4, 4), bool), 5, 4)


@pytest.mark.parametrize('norm', ['l1', 'l2'])
@pytest.mark.parametrize('level', [None, 1, 2])
def test_channels_match_reference(norm, level):
  rng = np.random.default_rng(5)
  params = {'conv': {'kernel': random_leaf(rng, (3, 3, 4, 10))[0],
                     'bias': np.zeros(10, np.float32)},
            'dense': {'kernel': random_leaf(rng, (12, 7))[0]}}
  masks = pruning.ones_like(params)
  masks['conv']['kernel'] = masks['conv']['kernel'].at[..., 3].set(False)
  new = pruning.prune_channels(params, masks, 0.3, norm=norm, level=level)
  assert new['conv']['bias'] is None
  for k in ('conv', 'dense'):
    want = reference_channels(params[k]['kernel'], masks[k]['kernel'], 0.3,
                              norm, level or 1)
    if level is None:  # Rate of the alive channels, no level.
      alive = np.asarray(masks[k]['kernel']).reshape(
          -1, want.shape[-1]).any(0)
      assert np.asarray(new[k]['kernel']).reshape(-1, want.shape[-1]).any(
          0).sum() == round(0.7 * alive.sum())
    else:
      np.testing.assert_array_equal(np.asarray(new[k]['kernel']), want)


def test_channels_only_shrink_and_ties_go_to_lower_index():
  w = np.ones((2, 6), np.float32)
  masks = {'kernel': jnp.ones((2, 6), bool)}
  new = pruning.prune_channels({'kernel': w}, masks, 0.5, level=1)['kernel']
  np.testing.assert_array_equal(np.asarray(new).any(0), [1, 1, 1, 0, 0, 0])
  again = pruning.prune_channels({'kernel': w}, {'kernel': new}, 0.5,
                                 level=2)['kernel']
  assert not (np.asarray(again) & ~np.asarray(new)).any()
  np.testing.assert_array_equal(np.asarray(again).any(0), [1, 1, 0, 0, 0, 0])


def test_channel_axis_for_out_in_layout():
  w = np.array([[1., 1.], [5., 5.], [2., 2.]], np.float32)  # [out, in].
  new = pruning.prune_channels({'weight': w}, {'weight': jnp.ones((3, 2),
                                                                  bool)},
                               1 / 3, level=1, axis=0)['weight']
  np.testing.assert_array_equal(np.asarray(new).any(1), [False, True, True])


def test_unknown_norm_is_an_error():
  with pytest.raises(ValueError, match='l1'):
    pruning.prune_channels({'kernel': np.ones((2, 2))},
                           {'kernel': jnp.ones((2, 2), bool)}, 0.5,
                           norm='l3')


def test_strategies_are_registered_and_read_config():
  assert {'nm', 'channel'} <= set(strategies.all_strategy_names())
  rng = np.random.default_rng(1)
  params = {'a': {'kernel': rng.standard_normal((8, 6)).astype(np.float32)}}
  masks = pruning.ones_like(params)
  cfg = ml_collections.ConfigDict({'rate': 0.5, 'layer_rates': '',
                                   'nm_n': 1, 'nm_m': 4,
                                   'channel_norm': 'l1'})
  nm = strategies.get_strategy('nm')(params, masks, cfg, 1)
  assert int(nm['a']['kernel'].sum()) == 8 * 6 // 4
  ch = strategies.get_strategy('channel')(params, masks, cfg, 1)
  assert int(np.asarray(ch['a']['kernel']).any(0).sum()) == 3
  defaults = ml_collections.ConfigDict({'rate': 0.5, 'layer_rates': ''})
  nm = strategies.get_strategy('nm')(params, masks, defaults, 1)
  assert int(nm['a']['kernel'].sum()) == 8 * 6 // 2
