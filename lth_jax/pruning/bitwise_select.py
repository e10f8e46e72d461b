"""Exact top-k by a bitwise threshold search: the baseline, 33+ passes.

The k-th largest key is built bit by bit from the most significant bit;
each bit is one counting pass over every leaf (33 passes in all). Entries
equal to that threshold are then split by position, carrying the count of
ties across leaves; only the one leaf where the split falls is read again
(one pass per bit of its size). ``radix_select`` finds the same masks in a
few passes; this search stays as ``keep_top_k_global(method='bitwise')``,
the baseline of ``benchmarks/pruning_speed.py``.

* Called eagerly, each pass runs one small jitted kernel per leaf
  (compiled once per leaf shape) and the bookkeeping is done on the host;
* called inside ``jax.jit``, the search runs as one ``fori_loop`` whose
  per-leaf counts run one after the other (``lax.cond`` chain), so one
  leaf's scratch is reused by the next.
"""
import functools

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from lth_jax.pruning import select_passes as passes


# Eager path: one jitted kernel per leaf and pass, bookkeeping on the host.


@functools.partial(jax.jit, static_argnames=('chunk', 'absolute'))
def count_at_least(scores, mask, threshold, *, chunk, absolute):
  return passes.leaf_count(scores, mask, passes.at_least(threshold), chunk,
                           absolute)


@functools.partial(jax.jit, static_argnames=('chunk', 'absolute'))
def count_ties_before(scores, mask, threshold, position, *, chunk, absolute):
  return passes.leaf_count(scores, mask,
                           passes.ties_before(threshold, position), chunk,
                           absolute)


select_kernel = jax.jit(passes.select, static_argnames=('absolute',))


def keep_top_k_eager(scores, masks, k, chunks, absolute):
  """The search with concrete inputs; see the module docstring."""
  def counts(threshold, todo):
    out = [count_at_least(s, m, np.uint32(threshold), chunk=c,
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
        if int(count_ties_before(s, m, np.uint32(threshold), candidate,
                                 chunk=c, absolute=absolute)) < take:
          last = candidate
    out.append(select_kernel(s, m, np.uint32(threshold), last,
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
    run, value = after >= 0, jnp.zeros((), passes.count_dtype())
    if skip is not None:
      run, value = run & ~skip[0][i], skip[1][i]
    after = lax.cond(
        run,
        functools.partial(passes.leaf_count, predicate=predicates[i],
                          chunk=c, absolute=absolute),
        lambda s, m, value=value: value, s, m)
    counts.append(after)
  return jnp.stack(counts)


@functools.partial(jax.jit, static_argnames=('chunks', 'absolute'))
def keep_top_k_traced(scores, masks, k, *, chunks, absolute):
  """The search as one program; see the module docstring."""
  dtype = passes.count_dtype()
  n = len(masks)
  k = jnp.asarray(k).astype(dtype)

  def descend(step, carry):
    # Step 0 counts every unmasked entry (key >= 0); step i > 0 tries bit
    # 32 - i of the threshold. As in the eager path otherwise.
    threshold, at_least, above, total = carry
    shift = jnp.where(step == 0, 0, 32 - step).astype(jnp.uint32)
    candidate = jnp.where(step == 0, jnp.uint32(0),
                          threshold | (jnp.uint32(1) << shift))
    counts = _counts(scores, masks, [passes.at_least(candidate)] * n, chunks,
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
          scores, masks, [passes.ties_before(threshold, candidate - o)
                          for o in offsets],
          chunks, absolute, i, skip=(done | later, jnp.where(done, ties, 0)))
      return jnp.where(jnp.sum(before) < need, candidate, p)

    bits = max(end, 1).bit_length()
    return lax.fori_loop(0, bits, step, jnp.zeros((), dtype))

  last = lax.cond((need > 0) & (need < jnp.sum(ties)), find_last,
                  lambda _: jnp.where(need > 0, end, -1).astype(dtype), None)
  return [passes.select(s, m, threshold, last - o, absolute)
          for s, m, o in zip(scores, masks, offsets)]
