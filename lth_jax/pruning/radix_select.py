"""Exact top-k by radix histograms of the keys: 3 passes over the params.

The k-th largest key is found 16 bits at a time: one pass builds the
histogram of every unmasked key's high 16 bits (``BINS`` int counts, summed
over the leaves), which names the bucket holding the k-th key and how many
keys lie above it; a second pass builds the histogram of the low 16 bits of
the keys in that bucket only, which gives the threshold itself, the number
of keys above it and the number of ties. A third pass writes the masks.

Ties at the threshold are split by (leaf, flat index) order, as in every
selection. Only where the split falls inside the ties (``0 < need <
ties``) is more read: histograms of the ties' positions, 16 bits at a
time, name the position of the ``need``-th tie. Eagerly they run leaf by
leaf up to the leaf that holds it (a leaf's first position pass also
counts its ties); under ``jax.jit`` over global positions (leaf offset +
flat index), in one or two passes, the second reading only the leaves
that can hold it.

Histograms are scatter-adds into ``BINS`` counts (256 KB), leaf by leaf;
on a sharded leaf XLA scatters per shard and all-reduces the counts, so no
leaf is gathered. Called eagerly, each pass is one jitted kernel per leaf
(compiled once per leaf shape) whose histogram is added up on the host in
int64; inside ``jax.jit`` the passes run leaf after leaf (``lax.cond``
chain), so one leaf's scratch is reused by the next.
"""
import functools

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from lth_jax.pruning import select_passes as passes

BINS = passes.BINS
_LOW = BINS - 1
# (shift, high bits that must match the prefix) of the two value passes.
_VALUE_PASSES = ((16, 0), (0, 0xFFFF0000))
# A key no score maps to (see ``sort_key``): nothing is above or equal it.
_NO_KEY = 0xFFFFFFFF


def _position_passes(size: int) -> list[tuple[int, int]]:
  """(shift, high) of the passes over positions ``0..size - 1``.

  Each pass reads the 16 bits at ``shift`` (the first one the top bits)
  of the positions whose bits under ``high`` equal the ones found so far.
  """
  bits = max(size - 1, 1).bit_length()
  shifts = [max(bits - passes.DIGIT_BITS * (i + 1), 0)
            for i in range(-(-bits // passes.DIGIT_BITS))]
  return [(shift, -(1 << before) if i else 0)
          for i, (shift, before) in enumerate(zip(shifts, [0] + shifts))]


def _value_digit(shift, high, prefix) -> passes.Digit:
  """Bits ``shift..shift + 15`` of the keys whose ``high`` bits are prefix."""
  return lambda key, m, index: (m & ((key & high) == prefix),
                                (key >> shift) & _LOW)


def _position_digit(threshold, shift, high, prefix) -> passes.Digit:
  """The same over the flat index of the ties at ``threshold``."""
  return lambda key, m, index: (
      m & (key == threshold) & ((index & high) == prefix),
      (index >> shift) & _LOW)


def _low_digit(hist, want, xp):
  """Smallest digit with >= ``want`` counts at or below it; counts below it.

  Two levels of 256 (rows of the histogram, then one row), so the prefix
  sums are two small triangular products, not a 65536-long scan.
  """
  side = 1 << (passes.DIGIT_BITS // 2)
  blocks = hist.reshape(side, side)
  upto = xp.tri(side, dtype=hist.dtype)  # upto[i, j] = j <= i.
  rows = blocks.sum(1)
  row_upto = upto @ rows
  row = xp.sum(row_upto < want)
  cells = blocks[row]
  cell_upto = row_upto[row] - rows[row] + upto @ cells
  cell = xp.sum(cell_upto < want)
  return row * side + cell, cell_upto[cell] - cells[cell]


def _top_digit(hist, want, xp):
  """Largest digit with >= ``want`` counts at or above it; counts above it."""
  digit, above = _low_digit(hist[::-1], want, xp)
  return BINS - 1 - digit, above


# Eager path: one jitted kernel per leaf and pass, bookkeeping on the host.


@functools.partial(jax.jit, static_argnames=('chunk', 'absolute'))
def value_histogram(scores, mask, shift, high, prefix, *, chunk, absolute):
  return passes.leaf_histogram(
      scores, mask, jnp.zeros(BINS, passes.count_dtype()),
      _value_digit(shift, high, prefix), chunk, absolute)


@functools.partial(jax.jit, static_argnames=('chunk', 'absolute'))
def position_histogram(scores, mask, threshold, shift, high, prefix, *,
                       chunk, absolute):
  return passes.leaf_histogram(
      scores, mask, jnp.zeros(BINS, passes.count_dtype()),
      _position_digit(threshold, shift, high, prefix), chunk, absolute)


select_kernel = jax.jit(passes.select, static_argnames=('absolute',))


def _fetch(hist) -> np.ndarray:
  return np.asarray(jax.device_get(hist), np.int64)


def _position_eager(scores, mask, chunk, threshold, want, absolute):
  """Where the ``want``-th tie at ``threshold`` falls in one leaf.

  Returns:
    (its flat index, 0), or (the leaf's size - 1, ``want`` less the leaf's
    ties) where the leaf has fewer ties: all of them are kept.
  """
  dtype = passes.count_dtype()
  prefix = 0
  for i, (shift, high) in enumerate(_position_passes(np.size(mask))):
    hist = _fetch(position_histogram(
        scores, mask, threshold, *np.array([shift, high, prefix], dtype),
        chunk=chunk, absolute=absolute))
    if i == 0 and hist.sum() < want:
      return np.size(mask) - 1, want - int(hist.sum())
    digit, before = _low_digit(hist, want, np)
    want -= int(before)
    prefix |= int(digit) << shift
  return prefix, 0


def keep_top_k_eager(scores, masks, k, chunks, absolute):
  """The selection with concrete inputs; see the module docstring."""
  leaves = list(zip(scores, masks, chunks))

  def histogram(shift, high, prefix):
    # Leaf i's histogram is fetched while leaf i + 1's runs.
    total, pending = np.zeros(BINS, np.int64), None
    for s, m, c in leaves:
      new = value_histogram(s, m, *np.array([shift, high, prefix], np.uint32),
                            chunk=c, absolute=absolute)
      if pending is not None:
        total += _fetch(pending)
      pending = new
    return total + _fetch(pending)

  prefix, want = 0, None
  for shift, high in _VALUE_PASSES:
    hist = histogram(shift, high, prefix)
    if want is None:
      want = min(max(k, 0), int(hist.sum()))
      if want == 0:
        return [select_kernel(s, m, np.uint32(_NO_KEY), -1, absolute=absolute)
                for s, m, _ in leaves]
    digit, above = _top_digit(hist, want, np)
    want -= int(above)
    prefix |= int(digit) << shift
  # Every key above `threshold` is kept, and the first `want` ties.
  threshold = np.uint32(prefix)
  lasts = [np.size(m) - 1 for m in masks]
  if want < int(hist[digit]):
    # Split the ties: leaves before the one holding the want-th tie keep
    # all theirs, leaves after it none.
    for i, leaf in enumerate(leaves):
      last, want = _position_eager(*leaf, threshold, want, absolute)
      if want == 0:
        lasts[i:] = [last] + [-1] * (len(lasts) - i - 1)
        break
  return [select_kernel(s, m, threshold, last, absolute=absolute)
          for (s, m, _), last in zip(leaves, lasts)]


# Traced path: the same selection as one program.


@functools.partial(jax.jit, static_argnames=('chunks', 'absolute'))
def keep_top_k_traced(scores, masks, k, *, chunks, absolute):
  """The selection as one program; see the module docstring.

  Every pass is one step of a ``fori_loop`` (one histogram code per leaf):
  two over the keys, then, only where ties must be split, one or two over
  the global position (leaf offset + flat index) of the ties, whose
  ``need``-th smallest is the last tie kept.
  """
  dtype = passes.count_dtype()
  sizes = [int(m.size) for m in masks]
  offsets = np.cumsum([0] + sizes[:-1]).tolist()
  total = sum(sizes)
  value_table = jnp.array(_VALUE_PASSES, jnp.uint32)
  position_table = jnp.array(_position_passes(total), dtype)
  zero = jnp.zeros((), dtype)

  def step(i, carry):
    key_prefix, want, k, ties, split, position, take = carry
    by_position = i >= len(_VALUE_PASSES)
    key_shift, key_high = value_table[jnp.minimum(i, 1)]
    pos_shift, pos_high = position_table[
        jnp.clip(i - len(_VALUE_PASSES), 0, len(position_table) - 1)]
    # Positions that can still match: [low, high) (the bits found so far).
    low = position & pos_high
    high = low - pos_high + jnp.where(pos_high == 0, total, 0)
    hist = jnp.zeros(BINS, dtype)
    for s, m, c, offset, size in zip(scores, masks, chunks, offsets, sizes):

      def digit(key, m, index, offset=offset):
        by_key = _value_digit(key_shift, key_high, key_prefix)(key, m, index)
        by_tie = _position_digit(key_prefix, pos_shift, pos_high, position)(
            key, m, index + offset)
        return tuple(jnp.where(by_position, t, v)
                     for t, v in zip(by_tie, by_key))

      # Each leaf waits for the previous one (one leaf's scratch at a
      # time); position passes read only the leaves that can hold the tie.
      read = ~by_position | (split & (offset < high) & (offset + size > low))
      hist = lax.cond(
          read & (hist[0] >= 0),
          functools.partial(passes.leaf_histogram, digit=digit, chunk=c,
                            absolute=absolute),
          lambda s, m, hist: hist, s, m, hist)
    # Value passes: the digit of the k-th largest key.
    k = jnp.where(i == 0, jnp.clip(k, 0, jnp.sum(hist)), k)
    want = jnp.where(i == 0, jnp.maximum(k, 1), want)
    top, above = _top_digit(hist, want, jnp)
    # Position passes: the digit of the take-th tie.
    first, before = _low_digit(hist, take, jnp)
    last_value = i == len(_VALUE_PASSES) - 1
    ties = jnp.where(by_position, ties, hist[top])
    need = jnp.where(k > 0, want - above, zero)
    return (
        jnp.where(by_position, key_prefix,
                  key_prefix | (top.astype(jnp.uint32) << key_shift)),
        jnp.where(by_position, want, want - above), k, ties,
        jnp.where(last_value, (need > 0) & (need < ties), split),
        jnp.where(by_position, position | (first.astype(dtype) << pos_shift),
                  position),
        jnp.where(by_position, take - before,
                  jnp.where(last_value, need, take)))

  carry = (jnp.uint32(0), zero, jnp.asarray(k).astype(dtype), zero,
           jnp.array(False), zero, zero)
  key_prefix, want, k, _, split, position, _ = lax.fori_loop(
      0, len(_VALUE_PASSES) + len(position_table), step, carry)
  threshold = jnp.where(k > 0, key_prefix, jnp.uint32(_NO_KEY))
  # Keys above the threshold are kept, and ties up to global position last.
  last = jnp.where(split, position,
                   jnp.where(k > 0, total - 1, -1).astype(dtype))
  return [passes.select(s, m, threshold,
                        jnp.clip(last - offset, -1, size - 1), absolute)
          for s, m, offset, size in zip(scores, masks, offsets, sizes)]
