"""Exact top-k selection over masked score arrays: the allocators.

Every allocator keeps the ``k`` highest-scoring *currently unmasked* entries
and never revives a masked one. Ties are broken by a fixed order: lower flat
index first within a leaf, earlier leaf (flattening order) first across
leaves. ``k`` may be a Python int or a traced integer scalar. Masks are
``bool`` arrays (1 byte per weight).

How it scales: nothing is sorted and leaves are never concatenated. Scores
are mapped to ``uint32`` keys that keep the float32 order (``sort_key``). The
k-th largest key is built bit by bit from the most significant bit; each bit
is one counting pass (``jnp.sum`` of a comparison) over every leaf, 33
passes in all. Entries equal to that threshold are then split by position,
carrying the count of ties across leaves; only the one leaf where the split
falls is read again (one pass per bit of its size). Extra memory is per
leaf, never per tree:

* called eagerly, each pass runs one small jitted kernel per leaf (compiled
  once per leaf shape) and the bookkeeping is done on the host;
* called inside ``jax.jit``, the same search runs as one ``fori_loop`` whose
  per-leaf counts run one after the other (``lax.cond`` chain), so one
  leaf's scratch is reused by the next;
* a leaf on one device is counted in chunks of ``_CHUNK`` entries (well
  under 1 MB of scratch however large the leaf); a sharded leaf is counted
  whole, which XLA partitions into per-shard sums and an all-reduce, so
  nothing is gathered and output masks keep the input sharding. GPU/TPU fuse
  the comparison into the sum; XLA:CPU materialises one int32 temporary the
  size of the shard.

Counts are int32 (int64 with ``jax_enable_x64``): leaves of fewer than 2**31
entries, and fewer than 2**31 in total under ``jax.jit``.
"""
import functools
from typing import Any, Callable, Sequence

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

_SIGN_BIT = 0x80000000
_INF_BITS = 0x7F800000
#: Entries per counting chunk for leaves that live on one device.
_CHUNK = 1 << 16

# A predicate over a block of a leaf: (keys, mask, flat index) -> bool.
Predicate = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]


def _count_dtype() -> Any:
  return jax.dtypes.canonicalize_dtype(jnp.int64)


def sort_key(scores: jax.Array) -> jax.Array:
  """Maps scores to ``uint32`` keys with the order of their float32 values.

  ``-0.0`` and ``0.0`` get the same key; NaN gets key 0, below every number,
  so NaN scores are pruned first. Subnormals keep their order.

  >>> sort_key(jnp.array([-1., -0., 0., 2., jnp.nan])).tolist()
  [1082130431, 2147483648, 2147483648, 3221225472, 0]
  """
  # Bit operations only: float compares flush subnormals to zero on CPUs
  # that run with denormals-are-zero.
  bits = lax.bitcast_convert_type(
      jnp.asarray(scores).astype(jnp.float32), jnp.uint32)
  sign = jnp.uint32(_SIGN_BIT)
  magnitude = bits & jnp.uint32(_SIGN_BIT - 1)
  key = jnp.where((bits >= sign) & (magnitude > 0), ~bits, bits | sign)
  return jnp.where(magnitude > jnp.uint32(_INF_BITS), jnp.uint32(0), key)


def _keys(scores: jax.Array, absolute: bool) -> jax.Array:
  return sort_key(jnp.abs(scores) if absolute else scores)


def _flat_index(shape: tuple[int, ...]) -> jax.Array:
  """Row-major flat index of every entry, built from iotas (shards well)."""
  dtype = _count_dtype()
  index = jnp.zeros((), dtype)
  stride = 1
  for axis in reversed(range(len(shape))):
    index = index + lax.broadcasted_iota(dtype, shape, axis) * stride
    stride *= shape[axis]
  return index


def _leaf_count(scores: jax.Array, mask: jax.Array, predicate: Predicate,
                chunk: int, absolute: bool) -> jax.Array:
  """Number of entries of one leaf where ``predicate`` holds.

  ``chunk`` > 0 (leaves on one device, larger than ``chunk``) counts a flat
  view chunk by chunk; 0 counts the leaf whole.
  """
  dtype = _count_dtype()
  mask = mask.astype(jnp.bool_)
  if not chunk:
    return jnp.sum(predicate(_keys(scores, absolute), mask,
                             _flat_index(scores.shape)), dtype=dtype)
  flat_s, flat_m = scores.reshape(-1), mask.reshape(-1)
  size = flat_s.size

  def add_chunk(i, hits):
    # The last chunk overlaps the one before it; the overlap is not counted.
    start = jnp.minimum(i * chunk, size - chunk)
    index = start + lax.iota(dtype, chunk)
    s = lax.dynamic_slice(flat_s, (start,), (chunk,))
    m = lax.dynamic_slice(flat_m, (start,), (chunk,))
    new = predicate(_keys(s, absolute), m, index) & (index >= i * chunk)
    return hits + new.astype(dtype)

  # Hits per position within a chunk, reduced once at the end.
  hits = lax.fori_loop(0, -(-size // chunk), add_chunk,
                       jnp.zeros(chunk, dtype))
  return jnp.sum(hits)


def _at_least(threshold):
  return lambda key, m, index: (key >= threshold) & m


def _ties_before(threshold, position):
  return lambda key, m, index: (key == threshold) & m & (index < position)


def _select(scores, mask, threshold, last, absolute):
  """Keys above ``threshold``, and ties up to flat index ``last``."""
  key = _keys(scores, absolute)
  tie = (key == threshold) & (_flat_index(scores.shape) <= last)
  return mask.astype(jnp.bool_) & ((key > threshold) | tie)


# Eager path: one jitted kernel per leaf and pass, bookkeeping on the host.


@functools.partial(jax.jit, static_argnames=('chunk', 'absolute'))
def _count_at_least(scores, mask, threshold, *, chunk, absolute):
  return _leaf_count(scores, mask, _at_least(threshold), chunk, absolute)


@functools.partial(jax.jit, static_argnames=('chunk', 'absolute'))
def _count_ties_before(scores, mask, threshold, position, *, chunk,
                       absolute):
  return _leaf_count(scores, mask, _ties_before(threshold, position), chunk,
                     absolute)


_select_kernel = jax.jit(_select, static_argnames=('absolute',))


def _keep_top_k_eager(scores, masks, k, chunks, absolute):
  """The search with concrete inputs; see the module docstring."""
  def counts(threshold, todo):
    out = [_count_at_least(s, m, np.uint32(threshold), chunk=c,
                           absolute=absolute) if run else 0
           for s, m, c, run in zip(scores, masks, chunks, todo)]
    return np.array(jax.device_get(out), np.int64)

  # at_least / above: per-leaf counts of keys >= / > threshold, where
  # threshold is the largest key known to have >= k keys at or above it.
  threshold = 0
  at_least = counts(0, [True] * len(masks))
  above = np.zeros_like(at_least)
  k = min(max(k, 0), int(at_least.sum()))
  for bit in reversed(range(32)):
    candidate = threshold | (1 << bit)
    new = counts(candidate, at_least > 0)  # No key >= threshold: none above.
    if new.sum() >= k:
      threshold, at_least = candidate, new
    else:
      above = new
  # Keep every key above the threshold and the first `need` ties in (leaf,
  # flat index) order.
  need = k - int(above.sum())
  out = []
  for s, m, c, ties in zip(scores, masks, chunks, at_least - above):
    take = min(need, int(ties))
    need -= take
    last = -1 if take == 0 else np.size(m) - 1
    if 0 < take < ties:
      # The largest p with fewer than `take` ties before it: the tie at p
      # is the take-th. One count over this leaf per bit of p.
      last = 0
      for bit in reversed(range(max(np.size(m) - 1, 1).bit_length())):
        candidate = last | (1 << bit)
        if int(_count_ties_before(s, m, np.uint32(threshold), candidate,
                                  chunk=c, absolute=absolute)) < take:
          last = candidate
    out.append(_select_kernel(s, m, np.uint32(threshold), last,
                              absolute=absolute))
  return out


# Traced path: the same search as one program.


def _counts(scores, masks, predicates, chunks, absolute, after, skip=None):
  """Per-leaf counts, one leaf after the other.

  Leaf ``i`` counts where ``predicates[i]`` holds, or takes ``skip[1][i]``
  without reading the leaf where ``skip[0][i]``. Each count runs in a
  ``lax.cond`` that waits for the previous one, so XLA runs them in
  sequence and reuses one leaf's scratch for the next.
  """
  counts = []
  for i, (s, m, c) in enumerate(zip(scores, masks, chunks)):
    run, value = after >= 0, jnp.zeros((), _count_dtype())
    if skip is not None:
      run, value = run & ~skip[0][i], skip[1][i]
    after = lax.cond(
        run,
        functools.partial(_leaf_count, predicate=predicates[i], chunk=c,
                          absolute=absolute),
        lambda s, m, value=value: value, s, m)
    counts.append(after)
  return jnp.stack(counts)


@functools.partial(jax.jit, static_argnames=('chunks', 'absolute'))
def _keep_top_k_traced(scores, masks, k, *, chunks, absolute):
  """The search as one program; see the module docstring."""
  dtype = _count_dtype()
  n = len(masks)
  k = jnp.asarray(k).astype(dtype)

  def descend(step, carry):
    # Step 0 counts every unmasked entry (key >= 0); step i > 0 tries bit
    # 32 - i of the threshold. As in the eager path otherwise.
    threshold, at_least, above, total = carry
    shift = jnp.where(step == 0, 0, 32 - step).astype(jnp.uint32)
    candidate = jnp.where(step == 0, jnp.uint32(0),
                          threshold | (jnp.uint32(1) << shift))
    counts = _counts(scores, masks, [_at_least(candidate)] * n, chunks,
                     absolute, step)
    ok = (step == 0) | (jnp.sum(counts) >= k)
    total = jnp.where(step == 0, jnp.sum(counts), total)
    return (jnp.where(ok, candidate, threshold),
            jnp.where(ok, counts, at_least), jnp.where(ok, above, counts),
            total)

  zeros = jnp.zeros(n, dtype)
  threshold, at_least, above, total = lax.fori_loop(
      0, 33, descend, (jnp.uint32(0), zeros, zeros, jnp.zeros((), dtype)))
  # Ties are kept up to global position `last` (leaf offset + flat index).
  ties = at_least - above
  need = jnp.clip(k, 0, total) - jnp.sum(above)
  sizes = [int(m.size) for m in masks]
  offsets = np.cumsum([0] + sizes[:-1]).tolist()
  end = sum(sizes) - 1

  def find_last(_):
    # As in the eager path, over global positions: each step reads only
    # the leaf that straddles the candidate position.
    def step(i, p):
      candidate = p | (jnp.ones((), dtype) << (bits - 1 - i))
      done = jnp.array([o + z <= candidate for o, z in zip(offsets, sizes)])
      later = jnp.array([o >= candidate for o in offsets])
      before = _counts(
          scores, masks, [_ties_before(threshold, candidate - o)
                          for o in offsets],
          chunks, absolute, i, skip=(done | later, jnp.where(done, ties, 0)))
      return jnp.where(jnp.sum(before) < need, candidate, p)

    bits = max(end, 1).bit_length()
    return lax.fori_loop(0, bits, step, jnp.zeros((), dtype))

  last = lax.cond((need > 0) & (need < jnp.sum(ties)), find_last,
                  lambda _: jnp.where(need > 0, end, -1).astype(dtype), None)
  return [_select(s, m, threshold, last - o, absolute)
          for s, m, o in zip(scores, masks, offsets)]


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
               absolute: bool = False) -> jax.Array:
  """Keeps the ``k`` highest scores among ``mask``'s True entries.

  ``absolute=True`` ranks ``|scores|`` without materialising a copy.

  >>> keep_top_k(jnp.array([3., 1., 2., 2.]), jnp.array([1, 1, 1, 1], bool), 2)
  Array([ True, False,  True, False], dtype=bool)
  """
  return keep_top_k_global([scores], [mask], k, absolute=absolute)[0]


def keep_top_k_global(scores: Sequence[jax.Array], masks: Sequence[jax.Array],
                      k: Any, *, absolute: bool = False) -> list[jax.Array]:
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

  Returns:
    One bool mask per input leaf, a subset of the input mask.

  >>> keep_top_k_global([jnp.array([1., 5.]), jnp.array([5., 3.])],
  ...                   [jnp.ones(2, bool), jnp.array([True, False])], 2)
  [Array([False,  True], dtype=bool), Array([ True, False], dtype=bool)]
  """
  if len(scores) != len(masks):
    raise ValueError(f'got {len(scores)} score leaves for {len(masks)} masks.')
  if not masks:
    return []
  for s, m in zip(scores, masks):
    if tuple(np.shape(s)) != tuple(np.shape(m)):
      raise ValueError(
          f'scores of shape {tuple(np.shape(s))} do not match their mask of '
          f'shape {tuple(np.shape(m))}; pass one score per weight.')
  traced = any(map(_is_traced, [*scores, *masks, k]))
  sizes = [int(np.size(m)) for m in masks]
  if _count_dtype() == jnp.int32 and (
      max(sizes) >= 2**31 or (traced and sum(sizes) >= 2**31)):
    raise ValueError(
        f'selecting among {sum(sizes)} entries needs 64-bit counts; enable '
        "jax.config.update('jax_enable_x64', True).")
  chunks = tuple(_chunk(s) and _chunk(m) for s, m in zip(scores, masks))
  if traced:
    if isinstance(k, (int, np.integer)):
      k = min(max(int(k), 0), sum(sizes))
    return list(_keep_top_k_traced(list(scores), list(masks), k,
                                   chunks=chunks, absolute=absolute))
  # NumPy leaves go to the device once, not once per pass.
  return _keep_top_k_eager([jnp.asarray(s) for s in scores],
                           [jnp.asarray(m) for m in masks], int(k), chunks,
                           absolute)


@functools.partial(jax.jit, static_argnames=('chunk',))
def _count_true_kernel(mask, *, chunk):
  return _leaf_count(mask, mask, lambda key, m, index: m, chunk, False)


def count_true(masks: Sequence[jax.Array]) -> list[jax.Array]:
  """Per-leaf number of True entries, counted like the selection.

  Same result as ``[jnp.sum(m) for m in masks]``, without the int32 copy of
  each mask that XLA:CPU makes for a plain sum.

  >>> count_true([jnp.array([True, False, True]), jnp.ones((2, 2), bool)])
  [Array(2, dtype=int32), Array(4, dtype=int32)]
  """
  return [_count_true_kernel(m, chunk=_chunk(m)) for m in masks]
