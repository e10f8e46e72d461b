"""One pass over one leaf of a top-k selection: keys, counts, histograms.

Shared by the selection algorithms (``radix_select``, ``bitwise_select``).
Scores are ranked through ``uint32`` keys with the order of their float32
values (``sort_key``); every pass reads a leaf once and writes a few
numbers (a count, a histogram) or, last, the new mask.

A leaf on one device is read in chunks of ``chunk`` entries through a flat
view, so the scratch is per chunk, never per leaf; ``chunk=0`` reads the
leaf whole, which XLA partitions over the shards of a sharded leaf
(per-shard partial counts or histograms and an all-reduce, no gather).
GPU/TPU fuse the comparison into the sum; XLA:CPU materialises one int32
temporary the size of the shard for an unchunked leaf.
"""
from typing import Any, Callable

import jax
from jax import lax
import jax.numpy as jnp

_SIGN_BIT = 0x80000000
_INF_BITS = 0x7F800000
#: Histogram bins: one per value of a 16-bit digit.
DIGIT_BITS = 16
BINS = 1 << DIGIT_BITS

# A predicate over a block of a leaf: (keys, mask, flat index) -> bool.
Predicate = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]
# A digit over a block of a leaf: (keys, mask, flat index) -> (in, digit).
Digit = Callable[[jax.Array, jax.Array, jax.Array],
                 tuple[jax.Array, jax.Array]]


def count_dtype() -> Any:
  return jax.dtypes.canonicalize_dtype(jnp.int64)


def sort_key(scores: jax.Array) -> jax.Array:
  """Maps scores to ``uint32`` keys with the order of their float32 values.

  ``-0.0`` and ``0.0`` get the same key; NaN gets key 0, below every number,
  so NaN scores are pruned first. Subnormals keep their order. No key is
  ``0xFFFFFFFF`` (``+inf`` is ``0xFF800000``).

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


def keys(scores: jax.Array, absolute: bool) -> jax.Array:
  return sort_key(jnp.abs(scores) if absolute else scores)


def flat_index(shape: tuple[int, ...]) -> jax.Array:
  """Row-major flat index of every entry, built from iotas (shards well)."""
  dtype = count_dtype()
  index = jnp.zeros((), dtype)
  stride = 1
  for axis in reversed(range(len(shape))):
    index = index + lax.broadcasted_iota(dtype, shape, axis) * stride
    stride *= shape[axis]
  return index


def _fold(scores, mask, chunk, absolute, step, init):
  """``step(carry, keys, mask, index, fresh)`` over a leaf, chunk by chunk.

  ``chunk`` > 0 folds over a flat view; the last chunk overlaps the one
  before it and ``fresh`` is False on the overlap. ``chunk`` = 0 makes one
  step over the whole leaf (``fresh`` True).
  """
  mask = mask.astype(jnp.bool_)
  if not chunk:
    return step(init, keys(scores, absolute), mask, flat_index(scores.shape),
                True)
  dtype = count_dtype()
  flat_s, flat_m = scores.reshape(-1), mask.reshape(-1)
  size = flat_s.size

  def body(i, carry):
    start = jnp.minimum(i * chunk, size - chunk)
    index = start + lax.iota(dtype, chunk)
    s = lax.dynamic_slice(flat_s, (start,), (chunk,))
    m = lax.dynamic_slice(flat_m, (start,), (chunk,))
    return step(carry, keys(s, absolute), m, index, index >= i * chunk)

  return lax.fori_loop(0, -(-size // chunk), body, init)


def leaf_count(scores: jax.Array, mask: jax.Array, predicate: Predicate,
               chunk: int, absolute: bool) -> jax.Array:
  """Number of entries of one leaf where ``predicate`` holds."""
  dtype = count_dtype()
  if not chunk:
    return _fold(scores, mask, 0, absolute, lambda _, key, m, index, fresh:
                 jnp.sum(predicate(key, m, index), dtype=dtype), None)

  def add(hits, key, m, index, fresh):
    return hits + (predicate(key, m, index) & fresh).astype(dtype)

  # Hits per position within a chunk, reduced once at the end.
  return jnp.sum(_fold(scores, mask, chunk, absolute, add,
                       jnp.zeros(chunk, dtype)))


def leaf_histogram(scores: jax.Array, mask: jax.Array, hist: jax.Array,
                   digit: Digit, chunk: int, absolute: bool) -> jax.Array:
  """``hist`` plus one leaf's histogram of ``digit`` (``BINS`` bins).

  ``digit`` gives, per entry, whether it is counted and its bin.
  """

  def add(hist, key, m, index, fresh):
    counted, value = digit(key, m, index)
    bins = jnp.where(counted & fresh, value.astype(jnp.int32), BINS)
    return hist.at[bins].add(1, mode='drop')

  return _fold(scores, mask, chunk, absolute, add, hist)


def at_least(threshold) -> Predicate:
  return lambda key, m, index: (key >= threshold) & m


def equal(threshold) -> Predicate:
  return lambda key, m, index: (key == threshold) & m


def ties_before(threshold, position) -> Predicate:
  return lambda key, m, index: (key == threshold) & m & (index < position)


def select(scores, mask, threshold, last, absolute):
  """Keys above ``threshold``, and ties up to flat index ``last``."""
  key = keys(scores, absolute)
  tie = (key == threshold) & (flat_index(scores.shape) <= last)
  return mask.astype(jnp.bool_) & ((key > threshold) | tie)
