"""One process of the sharded-pruning test (see test_sharded_pruning.py).

Builds a tree whose leaves are split row-wise over every device of every
process (each process makes only its own rows, from a formula of the
global index), prunes it globally (eagerly, and under ``jax.jit``), and
writes this process's rows of each new mask, the global kept count and
the compiled collectives to ``OUT/process_<i>.npz``.

  python tests/multiprocess/mp_prune_worker.py OUT K
"""
import json
import resource
import sys
import time

import numpy as np

import mp_launch as launch

SHAPES = ((512, 96), (1024, 32), (64, 16))


def values(shape, leaf: int, rows: slice) -> np.ndarray:
  """Leaf ``leaf``'s rows ``rows``: few distinct magnitudes (many ties)."""
  r = np.arange(shape[0])[rows][:, None]
  c = np.arange(shape[1])[None, :]
  x = ((r * 7919 + c * 104729 + leaf * 31) % 997).astype(np.float32)
  sign = np.where((r + c) % 3 == 0, -1.0, 1.0).astype(np.float32)
  return sign * np.floor(x / 4)  # 250 magnitudes: ties at the threshold.


def main(out: str, k: int) -> None:
  pid, n = launch.initialize()
  import jax  # pylint: disable=import-outside-toplevel
  # pylint: disable=import-outside-toplevel
  from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
  from lth_jax.pruning import selection

  mesh = Mesh(np.array(jax.devices()), ('d',))
  rows = NamedSharding(mesh, P('d'))
  scores, masks = [], []
  for i, shape in enumerate(SHAPES):
    scores.append(jax.make_array_from_callback(
        shape, rows, lambda idx, s=shape, i=i: values(s, i, idx[0])))
    masks.append(jax.make_array_from_callback(
        shape, rows, lambda idx, s=shape: np.ones(
            (len(range(*idx[0].indices(s[0]))), s[1]), bool)))
  rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  tic = time.perf_counter()
  eager = selection.keep_top_k_global(scores, masks, k, absolute=True)
  jax.block_until_ready(eager)
  eager_s = time.perf_counter() - tic
  traced_fn = jax.jit(lambda s, m: selection.keep_top_k_global(
      s, m, k, absolute=True))
  compiled = traced_fn.lower(scores, masks).compile()
  traced = jax.block_until_ready(compiled(scores, masks))
  traced_s = time.perf_counter() - tic - eager_s
  hlo = compiled.as_text()
  kept = [int(c) for c in selection.count_true(eager)]
  report = {
      'process': pid, 'processes': n, 'devices': jax.device_count(),
      'kept_eager': sum(kept),
      'kept_traced': sum(int(c) for c in selection.count_true(traced)),
      'sharding_kept': all(m.sharding == s.sharding
                           for m, s in zip(eager + traced, scores)),
      'all_gather': 'all-gather' in hlo,
      'all_reduce': 'all-reduce' in hlo,
      'eager_s': eager_s, 'traced_s': traced_s,
      'rss_growth_kb': resource.getrusage(
          resource.RUSAGE_SELF).ru_maxrss - rss0,
  }
  arrays = {}
  for name, tree in (('eager', eager), ('traced', traced)):
    for i, m in enumerate(tree):
      for shard in m.addressable_shards:
        start = shard.index[0].start or 0
        arrays[f'{name}_{i}_{start}'] = np.asarray(shard.data)
  np.savez(f'{out}/process_{pid}.npz', **arrays)
  with open(f'{out}/process_{pid}.json', 'w') as f:
    json.dump(report, f)
  print(json.dumps(report), flush=True)


if __name__ == '__main__':
  main(sys.argv[1], int(sys.argv[2]))
