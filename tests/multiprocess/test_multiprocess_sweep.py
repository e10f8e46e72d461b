"""A sweep across 2 real JAX processes equals the one-process serial run.

Two processes joined by ``jax.distributed`` (localhost coordinator, gloo)
run the same 4-replicate, 2-level IMP sweep with the ``shard`` strategy
(one CPU device each, two replicates per process). The first launch
stops at a known state, once every process has passed the barrier after
level 0 is written, and is killed there (process 1 first, the way one host
dies; then process 0, the way a scheduler ends the job); while it runs, the run
directory is locked. The rerun finishes the sweep, and its masks and
metrics equal the serial run's: masks identical except where a weight's
magnitude is within float tolerance of its layer's threshold, metrics up
to float reassociation. Each process writes only its own replicates: every
tree of replicate r holds its arrays in orbax's ``ocdbt.process_<i>/`` of
the process that holds r under ``shard`` (r // 2).
"""
import signal
import time

import jax
import numpy as np
import pytest

from lth_jax import lottery
from lth_jax.runs import processes
from lth_jax.runs import lock as run_lock
from lth_jax.runs import storage

from conftest import tiny_dataset
import mp_launch
import mp_sweep_config

WORKER = 'tests/multiprocess/mp_sweep_worker.py'
#: Where the first launch stops: every level-0 result written, level 1 not.
PAUSE = 'level 0 saved'
R, L = mp_sweep_config.REPLICATES, mp_sweep_config.LEVELS


def read_run(run_dir, levels=L + 1):
  """``{(replicate, level): (masks, trained params, rows)}`` of the first
  ``levels`` levels; fails if any tree (inits included) is incomplete."""
  out = {}
  for r in range(R):
    storage.load_tree(storage.init_dir(run_dir, r))
    for level in range(levels):
      d = storage.level_dir(run_dir, r, level)
      out[r, level] = (
          jax.tree.leaves(storage.load_tree(d / 'masks')),
          storage.load_tree(d / 'trained')['params'],
          storage.read_jsonl(d / 'metrics.jsonl'))
  return out


def assert_masks_match(got, want, prev_trained, rtol=1e-4):
  """Equal masks, except at weights tied with their layer's threshold."""
  weights = [np.abs(np.asarray(w)) for w in jax.tree.leaves(prev_trained)
             if np.ndim(w) == 2]
  for g, w, x in zip(got, want, weights, strict=True):
    g, w = np.asarray(g), np.asarray(w)
    differ = g != w
    if differ.any():
      threshold = x[w].min()
      assert np.allclose(x[differ], threshold, rtol=rtol), (
          x[differ], threshold)
    assert g.sum() == w.sum()


def assert_same_run(got, want):
  for (r, level), (masks, _, rows) in want.items():
    g_masks, _, g_rows = got[r, level]
    prev = want[r, level - 1][1] if level else None
    if level:
      assert_masks_match(g_masks, masks, prev)
    else:
      for a, b in zip(g_masks, masks, strict=True):
        np.testing.assert_array_equal(a, b)
    # Where a weight tied with the threshold went the other way, the level
    # trains another network: its metrics are only close.
    tied = any((np.asarray(a) != np.asarray(b)).any()
               for a, b in zip(g_masks, masks))
    rel = 1e-2 if tied else 1e-4
    assert [x['step'] for x in g_rows] == [x['step'] for x in rows]
    for a, b in zip(g_rows, rows):
      for field in ('train_loss', 'val_loss', 'val_acc', 'test_loss',
                    'test_acc'):
        if b[field] is None:
          assert a[field] is None, (r, level, field)
        else:
          assert a[field] == pytest.approx(b[field], rel=rel, abs=1e-5), (
              r, level, a['step'], field)


def tree_writers(run_dir):
  """``{replicate: {process index of each of its trees' data}}``."""
  writers = {}
  for r in range(R):
    subdirs = storage.replicate_dir(run_dir, r).rglob('ocdbt.process_*')
    writers[r] = {int(d.name.rsplit('_', 1)[1]) for d in subdirs}
  return writers


@pytest.fixture(scope='module')
def serial(tmp_path_factory):
  workdir = tmp_path_factory.mktemp('serial')
  config = mp_sweep_config.sweep_config()
  config.sweep.strategy = 'serial'
  lottery.run(config, str(workdir), dataset=tiny_dataset())
  return read_run(workdir / lottery.run_hash(config))


def start_and_pause(workdir):
  """Starts the 2-process sweep; returns its processes once both paused.

  Process 1 writes slowly, so process 0 runs ahead of its writes; a launch
  that fails before both paused fails the test with every process's output.
  """
  paused = [workdir / f'paused.process_{i}' for i in range(2)]
  procs = mp_launch.start(WORKER, 2, [str(workdir), 'shard', PAUSE],
                          env={'LTH_SLOW_WRITER': '1'})
  deadline = time.time() + 420
  while not all(p.exists() for p in paused) and time.time() < deadline:
    if any(p.poll() is not None for p in procs):
      break
    time.sleep(0.2)
  if all(p.exists() for p in paused):
    return procs
  for p in procs:
    p.kill()
  outputs = mp_launch.wait(procs, 30).outputs
  raise AssertionError('\n'.join(f'--- process {i} ---\n{out[-3000:]}'
                                  for i, out in enumerate(outputs)))


def test_killed_two_process_sweep_reruns_to_the_serial_results(
    tmp_path, serial):
  run_dir = tmp_path / lottery.run_hash(mp_sweep_config.sweep_config())
  procs = start_and_pause(tmp_path)
  try:
    # Both processes now wait, past level 0, holding the run's locks.
    assert sorted(p.name for p in run_dir.glob('lock*')) == [
        'lock', 'lock.process_1']
    with pytest.raises(run_lock.RunLockedError):
      with run_lock.RunLock(run_dir):
        pass
    assert all(storage.level_done(run_dir, r, 0) for r in range(R))
    # Process 1 wrote slowly: none of its trees lost a file to process 0.
    assert_same_run(read_run(run_dir, levels=1),
                    {key: v for key, v in serial.items() if key[1] == 0})
    procs[1].send_signal(signal.SIGKILL)  # One host dies ...
    assert procs[1].wait(30) == -signal.SIGKILL
  finally:
    procs[0].send_signal(signal.SIGKILL)  # ... then the job is ended.
    procs[1].kill()  # (already dead unless a check above failed)
  killed = mp_launch.wait(procs, 30)
  assert killed.returncodes[0] != 0, killed.outputs[0][-3000:]
  assert not storage.level_done(run_dir, 0, L)  # Killed before the end.

  mp_launch.launch(WORKER, 2, [str(tmp_path), 'shard'], timeout=300).check()
  assert sorted(p.name for p in run_dir.glob('lock*')) == [
      'lock', 'lock.process_1']
  assert_same_run(read_run(run_dir), serial)
  assert tree_writers(run_dir) == {
      r: {processes.block_owner(r, R, processes=2)} for r in range(R)}
  assert [processes.block_owner(r, R, processes=2) for r in range(R)] == [
      0, 0, 1, 1]
