"""The registered pruning strategies against a small numpy reference.

The reference restates the rules from scratch on flat numpy arrays:
* layer-wise: a prunable leaf of ``n`` weights pruned at rate ``p`` (the
  first matching ``layer_rates`` regex, else ``rate``) keeps
  ``round((1 - p)**L * n)`` weights after level ``L``;
* global: all prunable weights together keep ``round((1 - p)**L * N)``,
  chosen by one magnitude threshold (open_lth's ``sparse_global``; no
  per-layer normalisation as in jaxpruner);
* both keep the largest ``|w|`` among the surviving weights, never revive a
  pruned one, and break ties by flat index, earlier leaves first.
"""
import re
import types
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import pruning
from lth_jax.lottery import strategies

PRUNABLE = pruning.DEFAULT_PRUNABLE

# Shapes of random pytrees: a conv net, and a list-based MLP (Equinox-like
# paths such as 'layers/0/weight').
STRUCTURES = {
    'convnet': {
        'conv_0': {'kernel': (3, 3, 3, 8), 'bias': (8,)},
        'bn_0': {'scale': (8,), 'bias': (8,)},
        'conv_1': {'kernel': (3, 3, 8, 8)},
        'dense_0': {'kernel': (128, 32), 'bias': (32,)},
        'output': {'kernel': (32, 10), 'bias': (10,)},
    },
    'list_mlp': {'layers': [{'weight': (40, 30), 'bias': (30,)},
                            {'weight': (30, 20)},
                            {'weight': (20, 5), 'bias': (5,)}]},
}


def random_tree(structure, rng, ties=False):
  """A pytree of the structure's shapes; ``ties`` draws from {-2..2}."""
  def draw(shape):
    if ties:
      return jnp.asarray(rng.integers(-2, 3, shape), jnp.float32)
    # Per-leaf scales differ by orders of magnitude: global != per layer.
    return jnp.asarray(rng.normal(size=shape) * 10.0 ** rng.uniform(-2, 1),
                       jnp.float32)
  return jax.tree.map(draw, structure, is_leaf=lambda x: isinstance(x, tuple))


def flat(tree):
  """``[(path, array or None)]`` in flattening order."""
  items, _ = jax.tree_util.tree_flatten_with_path(
      tree, is_leaf=lambda x: x is None)
  return [('/'.join(str(getattr(k, 'key', getattr(k, 'idx', k)))
                    for k in path), None if x is None else np.asarray(x))
          for path, x in items]


def reference_keep(scores, mask, k):
  """Keeps the ``k`` largest scores among ``mask``; ties by lower index."""
  idx = np.flatnonzero(mask)
  order = idx[np.lexsort((idx, -scores[idx]))]
  keep = np.zeros(mask.size, bool)
  keep[order[:k]] = True
  return keep


def reference_rate(path, layer_rates, rate):
  for item in filter(None, layer_rates.split(',')):
    pattern, _, value = item.rpartition('=')
    if re.search(pattern, path):
      return float(value)
  return rate


def reference_layerwise(params, masks, cfg, level):
  out = {}
  for (path, w), (_, m) in zip(flat(params), flat(masks)):
    if m is None:
      continue
    p = reference_rate(path, cfg.layer_rates, cfg.rate)
    k = min(int(m.sum()), round((1 - p) ** level * m.size))
    out[path] = reference_keep(np.abs(w).ravel(), m.ravel(), k).reshape(
        m.shape)
  return out


def reference_global(params, masks, cfg, level):
  pairs = [(path, w, m) for (path, w), (_, m) in zip(flat(params),
                                                    flat(masks))
           if m is not None]
  scores = np.concatenate([np.abs(w).ravel() for _, w, _ in pairs])
  mask = np.concatenate([m.ravel() for _, _, m in pairs])
  k = min(int(mask.sum()), round((1 - cfg.rate) ** level * mask.size))
  keep = reference_keep(scores, mask, k)
  out, start = {}, 0
  for path, _, m in pairs:
    out[path] = keep[start:start + m.size].reshape(m.shape)
    start += m.size
  return out


REFERENCES = {'layerwise': reference_layerwise, 'global': reference_global}


def pruning_config(rate, layer_rates):
  return types.SimpleNamespace(rate=rate, layer_rates=layer_rates)


def prunable_masks(masks):
  return {path: m for path, m in flat(masks) if m is not None}


@pytest.mark.parametrize('ties', [False, True])
@pytest.mark.parametrize('structure', sorted(STRUCTURES))
@pytest.mark.parametrize('strategy,rate,layer_rates', [
    ('layerwise', 0.2, 'output/=0.1'),
    ('layerwise', 0.2, 'conv=0.15,output|layers/2=0.1,dense=0.3'),
    ('global', 0.2, ''),
    ('global', 0.37, ''),
])
def test_strategy_matches_the_reference_over_levels(
    strategy, rate, layer_rates, structure, ties):
  rng = np.random.default_rng(
      zlib.crc32(repr((strategy, rate, layer_rates, structure, ties)).encode()))
  cfg = pruning_config(rate, layer_rates)
  shapes = STRUCTURES[structure]
  masks = pruning.ones_like(random_tree(shapes, rng), PRUNABLE)
  fn = strategies.get_strategy(strategy)
  for level in range(1, 7):
    # Fresh "trained" weights every level; pruned entries may be non-zero.
    params = random_tree(shapes, rng, ties)
    expected = REFERENCES[strategy](params, masks, cfg, level)
    new = fn(params, masks, cfg, level)
    got = prunable_masks(new)
    assert got.keys() == expected.keys()
    for path in expected:
      np.testing.assert_array_equal(got[path], expected[path],
                                    err_msg=f'{path} at level {level}')
      assert not (got[path] & ~prunable_masks(masks)[path]).any()
    # Unprunable leaves stay None.
    assert [p for p, m in flat(new) if m is None] == [
        p for p, m in flat(masks) if m is None]
    masks = new


def test_global_is_one_threshold_not_per_layer_normalised():
  # One layer's weights are 100x smaller: the global rule prunes it first.
  rng = np.random.default_rng(0)
  sign = rng.choice([-1.0, 1.0], (2, 50, 20))
  params = {'big': {'kernel': jnp.asarray(
      sign[0] * rng.uniform(1, 2, (50, 20)), jnp.float32)},
            'small': {'kernel': jnp.asarray(
                sign[1] * rng.uniform(.01, .02, (50, 20)), jnp.float32)}}
  masks = pruning.ones_like(params)
  new = strategies.get_strategy('global')(params, masks,
                                       pruning_config(0.4, ''), 1)
  kept = {k: int(v['kernel'].sum()) for k, v in new.items()}
  assert kept == {'big': 1000, 'small': 200}
  layerwise = strategies.get_strategy('layerwise')(params, masks,
                                                pruning_config(0.4, ''), 1)
  assert {k: int(v['kernel'].sum()) for k, v in layerwise.items()} == {
      'big': 600, 'small': 600}


def test_unknown_strategy_lists_the_known_ones():
  assert {'global', 'layerwise'} <= set(pruning.all_strategy_names())
  with pytest.raises(ValueError, match="unknown pruning strategy 'magnitude'"
                     ) as error:
    strategies.get_strategy('magnitude')
  assert f"known: {', '.join(pruning.all_strategy_names())}." in str(
      error.value)
