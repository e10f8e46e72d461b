r"""N real processes on this host: sharded pruning and the sweep, for notes.

Not a test (CI runs the 2-process tests); this runs the same checks with
``N`` processes and prints what it measured:

  PYTHONPATH=.:tests:tests/multiprocess python tests/multiprocess/run_n.py \
      4 /tmp/run4
"""
import json
import pathlib
import sys
import time

import numpy as np

import mp_launch
import test_multiprocess_sweep as sweep_test
import test_sharded_pruning as prune_test


def main(n: int, out: str) -> None:
  out = pathlib.Path(out)
  (out / 'prune').mkdir(parents=True, exist_ok=True)
  r = mp_launch.launch('tests/multiprocess/mp_prune_worker.py', n,
                       [str(out / 'prune'), str(prune_test.K)],
                       timeout=900).check()
  reports = [json.loads((out / 'prune' / f'process_{i}.json').read_text())
             for i in range(n)]
  print(json.dumps({'prune_processes': n, 'wall_s': round(r.seconds, 1),
                    'reports': reports}), flush=True)
  want = prune_test.reference_masks(prune_test.K)
  shapes = prune_test.mp_prune_worker.SHAPES
  for method in ('eager', 'traced'):
    got = [np.zeros(s, bool) for s in shapes]
    seen = [np.zeros(s[0], int) for s in shapes]
    for i in range(n):
      with np.load(out / 'prune' / f'process_{i}.npz') as shards:
        for name in shards.files:
          kind, leaf, start = name.split('_')
          if kind == method:
            leaf, start, rows = int(leaf), int(start), shards[name]
            got[leaf][start:start + len(rows)] = rows
            seen[leaf][start:start + len(rows)] += 1
    print(json.dumps({
        'prune_method': method,
        'one_owner_per_row': all(bool((x == 1).all()) for x in seen),
        'equals_single_process': all(bool((g == w).all())
                                     for g, w in zip(got, want))}),
          flush=True)
  tic = time.perf_counter()
  r = mp_launch.launch(sweep_test.WORKER, n, [str(out / 'sweep'), 'shard'],
                       timeout=1800).check()
  print(json.dumps({'sweep_processes': n, 'wall_s': round(r.seconds, 1)}),
        flush=True)
  from lth_jax import lottery  # pylint: disable=import-outside-toplevel
  from conftest import tiny_dataset  # pylint: disable=import-outside-toplevel
  config = sweep_test.mp_sweep_config.sweep_config()
  config.sweep.strategy = 'serial'
  lottery.run(config, str(out / 'serial'), dataset=tiny_dataset())
  name = lottery.run_hash(config)
  sweep_test.assert_same_run(sweep_test.read_run(out / 'sweep' / name),
                             sweep_test.read_run(out / 'serial' / name))
  from lth_jax.runs import processes  # pylint: disable=import-outside-toplevel
  writers = sweep_test.tree_writers(out / 'sweep' / name)
  assert writers == {r: {processes.block_owner(r, sweep_test.R, processes=n)}
                     for r in range(sweep_test.R)}, writers
  print(json.dumps({'tree_writers': {r: sorted(w) for r, w in
                                     writers.items()}}))
  print(json.dumps({'sweep_equals_serial': True,
                    'total_s': round(time.perf_counter() - tic, 1)}))
  from lth_jax import provenance  # pylint: disable=import-outside-toplevel
  print(provenance.note(None))


if __name__ == '__main__':
  main(int(sys.argv[1]), sys.argv[2])
