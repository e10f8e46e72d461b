"""Mask metrics: sparsity reports and distances between masks."""
from typing import Any

import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import selection

PyTree = Any


def _pairs(a: PyTree, b: PyTree) -> list[tuple[jax.Array, jax.Array]]:
  la = jax.tree.leaves(a, is_leaf=masks_lib.is_none)
  lb = jax.tree.leaves(b, is_leaf=masks_lib.is_none)
  if len(la) != len(lb):
    raise errors.InputError('the two mask trees have different structures.')
  return [(x, y) for x, y in zip(la, lb) if x is not None and y is not None]


def sparsity_report(masks: PyTree) -> dict[str, Any]:
  """Per-layer and total counts of remaining weights.

  Counts are computed on device as integers (no float copies of the masks).

  Returns:
    ``{'layers': {path: {'size', 'remaining', 'fraction'}}, 'size',
    'remaining', 'fraction'}`` with Python numbers.

  >>> sparsity_report({'w': jnp.array([True, False]), 'b': None})['fraction']
  0.5
  """
  paths = masks_lib.prunable_paths(masks)
  leaves = masks_lib.mask_leaves(masks)
  counts = jax.device_get(selection.count_true(leaves))
  layers = {}
  for path, m, c in zip(paths, leaves, counts):
    layers[path] = {'size': int(m.size), 'remaining': int(c),
                    'fraction': int(c) / max(int(m.size), 1)}
  size = sum(v['size'] for v in layers.values())
  remaining = sum(v['remaining'] for v in layers.values())
  return {'layers': layers, 'size': size, 'remaining': remaining,
          'fraction': remaining / max(size, 1)}


def hamming_distance(a: PyTree, b: PyTree) -> float:
  """Normalised Hamming distance: share of prunable positions that differ.

  >>> hamming_distance({'w': jnp.array([True, True])},
  ...                  {'w': jnp.array([True, False])})
  0.5
  """
  pairs = _pairs(a, b)
  diff = sum(int(jnp.sum(x != y, dtype=jnp.int32)) for x, y in pairs)
  return diff / max(sum(int(x.size) for x, _ in pairs), 1)


def iou(a: PyTree, b: PyTree) -> float:
  """Intersection over union of the kept weights of two masks."""
  pairs = _pairs(a, b)
  inter = sum(int(jnp.sum(x & y, dtype=jnp.int32)) for x, y in pairs)
  union = sum(int(jnp.sum(x | y, dtype=jnp.int32)) for x, y in pairs)
  return inter / union if union else 1.0

