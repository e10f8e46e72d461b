"""Random pruning: masks with the same per-layer (or global) counts."""
from typing import Any

import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import selection

PyTree = Any


def random_like(key: jax.Array, masks: PyTree, scope: str = 'layer'
                ) -> PyTree:
  """A uniformly random mask with the counts of ``masks``.

  Args:
    key: PRNG key.
    masks: the masks whose counts to copy (e.g. a winning ticket's).
    scope: ``'layer'`` keeps each leaf's count; ``'global'`` keeps only the
      total count, spread uniformly over all prunable weights.

  Returns:
    Masks of the same structure; ``None`` leaves stay ``None``.

  >>> m = {'w': jnp.array([True, False, True, False]), 'b': None}
  >>> int(random_like(jax.random.key(0), m)['w'].sum())
  2
  """
  if scope not in ('layer', 'global'):
    raise errors.InputError(f"random pruning scope {scope!r} is unknown; use "
                     "'layer' (same per-layer counts) or 'global'.")
  leaves, treedef = jax.tree.flatten(masks, is_leaf=masks_lib.is_none)
  idx = [i for i, m in enumerate(leaves) if m is not None]
  keys = jax.random.split(key, len(idx))
  noise = [jax.random.uniform(k, leaves[i].shape) for k, i in zip(keys, idx)]
  full = [jnp.ones(leaves[i].shape, jnp.bool_) for i in idx]
  if scope == 'layer':
    new = [selection.keep_top_k(s, f, jnp.sum(leaves[i]))
           for s, f, i in zip(noise, full, idx)]
  else:
    total = sum(jnp.sum(leaves[i], dtype=jnp.int32) for i in idx)
    new = selection.keep_top_k_global(noise, full, total)
  for i, m in zip(idx, new):
    leaves[i] = m
  return jax.tree.unflatten(treedef, leaves)
