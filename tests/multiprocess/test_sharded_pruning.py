"""Global magnitude pruning of a tree sharded over 2 real processes.

Two processes joined by ``jax.distributed`` (localhost coordinator, gloo
CPU collectives) each hold half the rows of every leaf; the global
selection keeps exactly ``k`` entries, the very mask a single process
computes from the whole tree (same tie rule), and its compiled program has
no all-gather: each process only ever holds its own rows.
"""
import json

import numpy as np
import pytest

import mp_launch
import mp_prune_worker

K = 30000


def reference_masks(k: int) -> list[np.ndarray]:
  """Keep the ``k`` largest ``|x|``; ties by (leaf, flat index) order."""
  leaves = [np.abs(mp_prune_worker.values(s, i, slice(None)))
            for i, s in enumerate(mp_prune_worker.SHAPES)]
  flat = np.concatenate([x.ravel() for x in leaves])
  order = np.lexsort((np.arange(flat.size), -flat))  # stable, descending.
  keep = np.zeros(flat.size, bool)
  keep[order[:k]] = True
  out, start = [], 0
  for x in leaves:
    out.append(keep[start:start + x.size].reshape(x.shape))
    start += x.size
  return out


@pytest.fixture(scope='module')
def two_processes(tmp_path_factory):
  out = tmp_path_factory.mktemp('sharded_pruning')
  mp_launch.launch('tests/multiprocess/mp_prune_worker.py', 2,
                   [str(out), str(K)], timeout=240).check()
  return out


def test_sharded_global_pruning_keeps_the_exact_count(two_processes):
  reports = [json.loads((two_processes / f'process_{i}.json').read_text())
             for i in range(2)]
  for r in reports:
    assert r['processes'] == 2 and r['devices'] == 2
    assert r['kept_eager'] == K and r['kept_traced'] == K
    assert r['sharding_kept']  # The new masks stay split by rows.


def test_sharded_masks_equal_the_single_process_masks(two_processes):
  want = reference_masks(K)
  assert (np.concatenate([w.ravel() for w in want]).sum()) == K
  # Ties straddle the threshold, so the tie rule decides some entries.
  flat = np.concatenate([np.abs(mp_prune_worker.values(
      s, i, slice(None))).ravel() for i, s in enumerate(
          mp_prune_worker.SHAPES)])
  kept = np.concatenate([w.ravel() for w in want])
  threshold = flat[kept].min()
  assert (flat[~kept] == threshold).any()
  for method in ('eager', 'traced'):
    got = [np.zeros(s, bool) for s in mp_prune_worker.SHAPES]
    seen = [np.zeros(s[0], int) for s in mp_prune_worker.SHAPES]
    for i in range(2):
      with np.load(two_processes / f'process_{i}.npz') as shards:
        for name in shards.files:
          kind, leaf, start = name.split('_')
          if kind != method:
            continue
          rows = shards[name]
          leaf, start = int(leaf), int(start)
          got[leaf][start:start + len(rows)] = rows
          seen[leaf][start:start + len(rows)] += 1
    for leaf, (g, w) in enumerate(zip(got, want)):
      assert (seen[leaf] == 1).all(), (method, leaf)  # one owner per row.
      np.testing.assert_array_equal(g, w, err_msg=f'{method} leaf {leaf}')


def test_no_leaf_is_gathered(two_processes):
  for i in range(2):
    r = json.loads((two_processes / f'process_{i}.json').read_text())
    assert not r['all_gather'] and r['all_reduce']
