"""Exact top-k selection over masked score arrays: the allocators.

Every allocator keeps the ``k`` highest-scoring *currently unmasked* entries
and never revives a masked one. Ties are broken by a fixed order: lower flat
index first within a leaf, earlier leaf (flattening order) first across
leaves. ``k`` may be a Python int or a traced integer scalar.
"""
from typing import Any, Sequence

import jax
import jax.numpy as jnp

PyTree = Any


def keep_top_k(scores: jax.Array, mask: jax.Array, k: Any) -> jax.Array:
  """Keeps the ``k`` highest scores among ``mask``'s True entries.

  >>> keep_top_k(jnp.array([3., 1., 2., 2.]), jnp.array([1, 1, 1, 1], bool), 2)
  Array([ True, False,  True, False], dtype=bool)
  """
  flat_s = jnp.ravel(scores)
  flat_m = jnp.ravel(mask)
  # lexsort: last key is primary; stable, so equal keys keep index order.
  order = jnp.lexsort((-flat_s.astype(jnp.float32), ~flat_m))
  rank = jnp.zeros(flat_s.shape, jnp.int32).at[order].set(
      jnp.arange(flat_s.size, dtype=jnp.int32))
  return ((rank < k) & flat_m).reshape(jnp.shape(mask))


def keep_top_k_global(scores: Sequence[jax.Array], masks: Sequence[jax.Array],
                      k: Any) -> list[jax.Array]:
  """Keeps the ``k`` highest scores over all leaves together.

  One threshold for every leaf (the LTH's global rule, no per-layer
  normalisation). Returns one bool mask per input leaf.
  """
  sizes = [int(jnp.size(s)) for s in scores]
  flat_s = jnp.concatenate([jnp.ravel(s).astype(jnp.float32) for s in scores])
  flat_m = jnp.concatenate([jnp.ravel(m) for m in masks])
  keep = keep_top_k(flat_s, flat_m, k)
  out, start = [], 0
  for size, m in zip(sizes, masks):
    out.append(keep[start:start + size].reshape(jnp.shape(m)))
    start += size
  return out
