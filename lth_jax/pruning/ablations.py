"""Mask ablations of Frankle et al. 2021's sanity checks (pure).

``shuffle_within_layers`` permutes every prunable mask leaf on its own: the
per-layer counts are kept exactly, which weights are kept is forgotten. A
method whose masks survive this ablation only chose per-layer fractions.
(Re-sampling the kept weights is a fresh ``model.init``; inverting scores
is ``scores.invert``.)
"""
from typing import Any

import jax

from lth_jax.pruning import masks as masks_lib

PyTree = Any


def shuffle_within_layers(key: jax.Array, masks: PyTree) -> PyTree:
  """Each prunable leaf's entries in a uniformly random order.

  Args:
    key: PRNG key (split once per prunable leaf).
    masks: masks (``None`` leaves stay ``None``).

  Returns:
    Masks with the same per-leaf counts, each leaf a random permutation of
    its input.

  >>> m = {'w': jax.numpy.array([True, True, False, False]), 'b': None}
  >>> s = shuffle_within_layers(jax.random.key(1), m)
  >>> int(s['w'].sum()), s['b'] is None
  (2, True)
  """
  leaves, treedef = jax.tree.flatten(masks, is_leaf=masks_lib.is_none)
  idx = [i for i, m in enumerate(leaves) if m is not None]
  for i, k in zip(idx, jax.random.split(key, max(len(idx), 1))):
    m = leaves[i]
    leaves[i] = jax.random.permutation(k, m.reshape(-1)).reshape(m.shape)
  return jax.tree.unflatten(treedef, leaves)
