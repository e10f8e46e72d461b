r"""Cost of one pass of each kind an exact top-k selection can be built from.

  python -m benchmarks.selection_passes --size=20M

Over one float32 leaf of ``--size`` entries, read in chunks as the
selection reads it (``selection._CHUNK``), each jitted and timed best of
``--calls`` in this process:

* ``count``: one counting pass (``#key >= t``); the bitwise search makes 33;
* ``histogram``: one 16-bit radix histogram (scatter-add into 65536 bins);
  the radix selection makes 2;
* ``select``: writing the new mask (every method ends with it);
* ``count2``: counting against two thresholds at once (a sampled bracket's
  exact count);
* ``compact``: copying the keys inside a bracket holding ~1 % of the
  entries into a buffer (``cumsum`` + scatter per chunk), which a sampled
  bracket needs before its small exact select;
* ``sample``: gathering 2**18 strided keys and sorting them (a sampled
  bracket's first step).

Each row gives the time and its ratio to ``count``; each timing records
``os.getloadavg()``.
"""
import os
import time

from absl import app
from absl import flags
import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from benchmarks import pruning_speed
from lth_jax import provenance
from lth_jax.pruning import select_passes as passes
from lth_jax.pruning import selection

_SIZE = flags.DEFINE_string('size', '20M', 'Entries of the leaf.')
_CALLS = flags.DEFINE_integer('calls', 5, 'Timed calls (best is kept).')
_SAMPLE = 1 << 18


def chunked(step, init):
  """``step(carry, keys, mask)`` over a flat leaf, chunk by chunk."""
  chunk = selection._CHUNK  # pylint: disable=protected-access

  def run(scores, mask):
    flat_s, flat_m = scores.reshape(-1), mask.reshape(-1)

    def body(i, carry):
      start = i * chunk  # The size is a multiple of the chunk here.
      s = lax.dynamic_slice(flat_s, (start,), (chunk,))
      m = lax.dynamic_slice(flat_m, (start,), (chunk,))
      return step(carry, passes.keys(s, True), m)

    return lax.fori_loop(0, flat_s.size // chunk, body, init)

  return run


def kernels(bracket):
  """name -> jitted function of (scores, mask)."""
  lo, hi = (jnp.uint32(b) for b in bracket)
  chunk = selection._CHUNK  # pylint: disable=protected-access
  digit = lambda key, m, index: (m, key >> 16)

  def count2(carry, key, m):
    a, b = carry
    return (a + ((key >= lo) & m).astype(jnp.int32),
            b + ((key > hi) & m).astype(jnp.int32))

  def compact(carry, key, m):
    buffer, used = carry
    inside = (key >= lo) & (key <= hi) & m
    at = jnp.where(inside, used + jnp.cumsum(inside, dtype=jnp.int32) - 1,
                   buffer.size)
    return (buffer.at[at].set(key, mode='drop'),
            used + jnp.sum(inside, dtype=jnp.int32))

  def sample(scores, mask):
    step = scores.size // _SAMPLE
    flat = scores.reshape(-1)[::step][:_SAMPLE]
    keys = jnp.where(mask.reshape(-1)[::step][:_SAMPLE],
                     passes.keys(flat, True), 0)
    return jnp.sort(keys)

  out = {
      'count': lambda s, m: passes.leaf_count(
          s, m, passes.at_least(lo), chunk, True),
      'histogram': lambda s, m: passes.leaf_histogram(
          s, m, jnp.zeros(passes.BINS, jnp.int32), digit, chunk, True),
      'select': lambda s, m: passes.select(s, m, lo, -1, True),
      'count2': chunked(count2, (jnp.zeros(chunk, jnp.int32),
                                 jnp.zeros(chunk, jnp.int32))),
      'compact': chunked(compact, (jnp.zeros(1 << 20, jnp.uint32),
                                   jnp.int32(0))),
      'sample': sample,
  }
  return {name: jax.jit(fn) for name, fn in out.items()}


def best_time(fn, *args) -> float:
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(_CALLS.value):
    tic = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - tic)
  return min(times)


def main(argv):
  del argv
  chunk = selection._CHUNK  # pylint: disable=protected-access
  size = -(-pruning_speed.parse_size(_SIZE.value) // chunk) * chunk
  scores = jax.random.normal(jax.random.key(0), (size // 1024, 1024))
  mask = jnp.ones(scores.shape, bool)
  # A bracket around the 20 % quantile of |w| holding ~1 % of the entries.
  keys = np.asarray(passes.keys(scores.reshape(-1)[:1 << 20], True))
  bracket = np.quantile(keys, [0.195, 0.205]).astype(np.uint32)
  rows = []
  for name, fn in kernels(bracket).items():
    seconds = best_time(fn, scores, mask)
    rows.append((name, seconds, '/'.join(f'{x:.1f}' for x in os.getloadavg())))
    print(f'# {name}: {seconds * 1e3:.1f} ms, load {rows[-1][2]}', flush=True)
  count = rows[0][1]
  print(f'\n{size:,} float32 entries, chunk {chunk}\n')
  print('| pass | ms | / count | load (1/5/15 min) |\n|---|---|---|---|')
  for name, seconds, load in rows:
    print(f'| {name} | {seconds * 1e3:.1f} | {seconds / count:.2f} | {load} |')
  print(provenance.note(None))


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  app.run(main)
