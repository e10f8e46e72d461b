"""Exact top-k selection over masked score arrays: the allocators.

Every allocator keeps the ``k`` highest-scoring *currently unmasked* entries
and never revives a masked one. Ties are broken by a fixed order: lower flat
index first within a leaf, earlier leaf (flattening order) first across
leaves. ``k`` may be a Python int or a traced integer scalar. Masks are
``bool`` arrays (1 byte per weight).

How it scales: nothing is sorted and leaves are never concatenated. Scores
are mapped to ``uint32`` keys that keep the float32 order (``sort_key``),
and the k-th largest key is found by counting (``select_passes``):

* ``method='radix'`` (default, ``radix_select``): two histogram passes over
  the keys' 16-bit digits find the threshold, a third writes the masks
  (one or two more histograms of tie positions only where the ties at the
  threshold must be split);
* ``method='bitwise'`` (``bitwise_select``): the threshold built bit by bit,
  one counting pass per bit (33 passes); the baseline, same masks.

Extra memory is per leaf, never per tree: a leaf on one device is read in
chunks of ``_CHUNK`` entries (scratch per chunk), and passes run leaf after
leaf, eagerly (one jitted kernel per leaf, bookkeeping on the host) or
inside ``jax.jit`` (one program, a ``lax.cond`` chain over the leaves). A
sharded leaf is read whole, which XLA partitions into per-shard counts or
histograms and an all-reduce, so nothing is gathered and output masks keep
the input sharding.

Counts are int32 (int64 with ``jax_enable_x64``): leaves of fewer than 2**31
entries, and fewer than 2**31 in total under ``jax.jit``.
"""
import functools
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import errors
from lth_jax.pruning import bitwise_select
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import radix_select
from lth_jax.pruning import select_passes

sort_key = select_passes.sort_key

#: Entries per counting chunk for leaves that live on one device.
_CHUNK = 1 << 16
#: Selection algorithms by name (same masks, different number of passes).
METHODS = {'radix': radix_select, 'bitwise': bitwise_select}


def _is_traced(x: Any) -> bool:
  return isinstance(x, jax.core.Tracer)


def _chunk(x: Any) -> int:
  """Chunk size for counting ``x``; 0 where it may be sharded."""
  if np.size(x) <= _CHUNK:
    return 0
  if _is_traced(x):
    one_device = jax.device_count() == 1
  elif isinstance(x, jax.Array):
    one_device = len(x.sharding.device_set) == 1
  else:
    one_device = True  # NumPy: placed on one device.
  return _CHUNK if one_device else 0


def keep_top_k(scores: jax.Array, mask: jax.Array, k: Any, *,
               absolute: bool = False, method: str = 'radix') -> jax.Array:
  """Keeps the ``k`` highest scores among ``mask``'s True entries.

  ``absolute=True`` ranks ``|scores|`` without materialising a copy.

  >>> keep_top_k(jnp.array([3., 1., 2., 2.]), jnp.array([1, 1, 1, 1], bool), 2)
  Array([ True, False,  True, False], dtype=bool)
  """
  return keep_top_k_global([scores], [mask], k, absolute=absolute,
                           method=method)[0]


def keep_top_k_global(scores: Sequence[jax.Array], masks: Sequence[jax.Array],
                      k: Any, *, absolute: bool = False,
                      method: str = 'radix') -> list[jax.Array]:
  """Keeps the ``k`` highest scores over all leaves together.

  One threshold for every leaf (the LTH's global rule, no per-layer
  normalisation). Leaves are never concatenated, so sharded leaves stay
  where they are and the output masks keep the input masks' sharding.

  Args:
    scores: one score array per leaf (any float or int dtype, compared as
      float32).
    masks: one mask per leaf, shaped like its scores; only True entries can
      be kept.
    k: how many entries to keep in total; clipped to [0, unmasked count].
    absolute: rank ``|scores|`` (e.g. pass the weights themselves for
      magnitude pruning, without a copy of their absolute values).
    method: ``'radix'`` (3 passes) or ``'bitwise'`` (33 passes, the
      baseline); both give the same masks.

  Returns:
    One bool mask per input leaf, a subset of the input mask.

  >>> keep_top_k_global([jnp.array([1., 5.]), jnp.array([5., 3.])],
  ...                   [jnp.ones(2, bool), jnp.array([True, False])], 2)
  [Array([False,  True], dtype=bool), Array([ True, False], dtype=bool)]
  """
  if method not in METHODS:
    raise errors.InputError(f'unknown selection method {method!r}; use one of '
                     f'{sorted(METHODS)}.')
  if len(scores) != len(masks):
    raise errors.InputError(
        f'got {len(scores)} score leaves for {len(masks)} masks.')
  if not masks:
    return []
  for s, m in zip(scores, masks):
    if tuple(np.shape(s)) != tuple(np.shape(m)):
      raise errors.InputError(
          f'scores of shape {tuple(np.shape(s))} do not match their mask of '
          f'shape {tuple(np.shape(m))}; pass one score per weight.')
  traced = any(map(_is_traced, [*scores, *masks, k]))
  sizes = [int(np.size(m)) for m in masks]
  if select_passes.count_dtype() == jnp.int32 and (
      max(sizes) >= 2**31 or (traced and sum(sizes) >= 2**31)):
    raise errors.InputError(
        f'selecting among {sum(sizes)} entries needs 64-bit counts; enable '
        "jax.config.update('jax_enable_x64', True).")
  chunks = tuple(_chunk(s) and _chunk(m) for s, m in zip(scores, masks))
  algorithm = METHODS[method]
  if traced:
    if isinstance(k, (int, np.integer)):
      k = min(max(int(k), 0), sum(sizes))
    return list(algorithm.keep_top_k_traced(list(scores), list(masks), k,
                                            chunks=chunks, absolute=absolute))
  # NumPy leaves go to the device once, not once per pass.
  return algorithm.keep_top_k_eager([jnp.asarray(s) for s in scores],
                                    [jnp.asarray(m) for m in masks], int(k),
                                    chunks, absolute)


@functools.partial(jax.jit, static_argnames=('chunk',))
def _count_true_kernel(mask, *, chunk):
  return select_passes.leaf_count(mask, mask, lambda key, m, index: m, chunk,
                                  False)


def count_true(masks: Sequence[jax.Array]) -> list[jax.Array]:
  """Per-leaf number of True entries, counted like the selection.

  Same result as ``[jnp.sum(m) for m in masks]``, without the int32 copy of
  each mask that XLA:CPU makes for a plain sum.

  >>> count_true([jnp.array([True, False, True]), jnp.ones((2, 2), bool)])
  [Array(2, dtype=int32), Array(4, dtype=int32)]
  """
  return [_count_true_kernel(m, chunk=_chunk(m)) for m in masks]


# Over trees: every mask criterion turns its scores into masks here.


def _prunable(masks: Any) -> tuple[list[Any], Any, list[int]]:
  leaves, treedef = jax.tree.flatten(masks, is_leaf=masks_lib.is_none)
  return leaves, treedef, [i for i, m in enumerate(leaves) if m is not None]


def top_k_per_leaf(scores: Any, masks: Any, counts: Any, *,
                   absolute: bool = False) -> Any:
  """Keeps ``counts[leaf]`` highest scores among each leaf's True entries.

  ``None`` mask leaves stay ``None``; exact counts, ties by index.

  >>> top_k_per_leaf({'w': jnp.array([3., 1., 2.]), 'b': None},
  ...                {'w': jnp.ones(3, bool), 'b': None},
  ...                {'w': 2, 'b': None})['w']
  Array([ True, False,  True], dtype=bool)
  """
  leaves, treedef, idx = _prunable(masks)
  s_leaves, c_leaves = (treedef.flatten_up_to(scores),
                        treedef.flatten_up_to(counts))
  for i in idx:
    leaves[i] = keep_top_k(s_leaves[i], leaves[i], c_leaves[i],
                           absolute=absolute)
  return jax.tree.unflatten(treedef, leaves)


def top_k_global(scores: Any, masks: Any, k: Any, *,
                 absolute: bool = False) -> Any:
  """Keeps the ``k`` highest scores over all prunable leaves together.

  >>> top_k_global({'a': jnp.array([1., 3.]), 'b': None},
  ...              {'a': jnp.ones(2, bool), 'b': None}, 1)['a']
  Array([False,  True], dtype=bool)
  """
  leaves, treedef, idx = _prunable(masks)
  s_leaves = treedef.flatten_up_to(scores)
  kept = keep_top_k_global([s_leaves[i] for i in idx],
                           [leaves[i] for i in idx], k, absolute=absolute)
  for i, m in zip(idx, kept):
    leaves[i] = m
  return jax.tree.unflatten(treedef, leaves)
