"""Real IMP runs killed with SIGKILL and resumed end bit-identical.

Each test runs ``run_imp.py`` (LeNet-300-100, 3 levels x 200 steps) in
subprocesses, kills it -- at seeded random times, or at exact events such as
"between the rename of a checkpoint and its metrics" -- restarts it until
it finishes, and compares every level's masks, trained weights, metrics and
summary with an uninterrupted run, bit for bit.
"""
import pathlib

import numpy as np
import pytest

import fault_harness as fh

SEED = 20240605
RANDOM_KILLS = 6


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
  return fh.reference_run(tmp_path_factory)


def driver(tmp_path, tmp_path_factory, rewind='init'):
  return fh.Driver(tmp_path / 'work', fh.cache_dir(tmp_path_factory), rewind)


def test_seeded_random_kills_resume_bit_identical(reference, tmp_path,
                                                   tmp_path_factory):
  run = driver(tmp_path, tmp_path_factory)
  rng = np.random.default_rng(SEED)
  # Delays after the lock is taken, over the reference run's working time
  # (measured with a cold compilation cache: restarts are faster).
  delays = rng.uniform(0.02, 0.3, RANDOM_KILLS) * reference.work_seconds
  kills = []
  for delay in delays:
    proc = run.start()
    if not run.wait_locked(proc):
      break  # finished (or failed) before the kill
    try:
      proc.wait(timeout=delay)
      break  # finished before the kill
    except fh.subprocess.TimeoutExpired:
      if fh.kill(proc):
        kills.append(f'{delay:.2f}s: {fh.progress(run.run_dir)}')
  assert proc.returncode in (0, -9), proc.log.read_text()
  code, log = run.run()
  assert code == 0, log
  print('killed after', *kills, sep='\n  ')
  assert len(kills) >= RANDOM_KILLS // 2
  fh.assert_same_results(reference.results, fh.results(run.run_dir))
  assert not fh.storage.stale_paths(run.run_dir)


def _finished_levels(run_dir):
  """Digests of finished levels' results (their leftover mid-level
  checkpoints are scratch, removed by the next run)."""
  return {d: {f: h for f, h in fh.file_digests(d).items()
              if not f.startswith('checkpoints')}
          for d in run_dir.glob('replicate_*/level_*')
          if (d / 'summary.json').exists()}


def _kill_at(run, event):
  """One run killed at ``event``; finished levels must stay untouched."""
  before = _finished_levels(run.run_dir)
  code, log = run.run('--kill-at', event)
  assert code == -9, f'not killed at {event}:\n{log}'
  after = _finished_levels(run.run_dir)
  for d, digests in before.items():
    assert after[d] == digests, f'{d} changed'
  return log


def _largest_file(tree_dir: pathlib.Path) -> pathlib.Path:
  return max((p for p in tree_dir.rglob('*') if p.is_file()),
             key=lambda p: p.stat().st_size)


L0 = 'replicate_0/level_0'
L1 = 'replicate_0/level_1'
L2 = 'replicate_0/level_2'


def test_kills_at_events_of_level_0_resume_bit_identical(
    reference, tmp_path, tmp_path_factory):
  run = driver(tmp_path, tmp_path_factory)
  rdir = run.run_dir
  _kill_at(run, 'locked')
  assert not (rdir / 'config.json').exists()
  assert (rdir / 'lock').read_text().startswith('pid ')

  log = _kill_at(run, 'commit:replicate_0/init')
  assert 'stale lock' in log  # the first kill's lock was taken over
  assert not (rdir / 'replicate_0' / 'init').exists()
  assert list((rdir / 'replicate_0').glob('.init.new.orbax-checkpoint-tmp*'))

  _kill_at(run, f'saved:{L0}/masks')
  assert fh.storage.tree_exists(rdir / L0 / 'masks')
  assert not (rdir / L0 / 'checkpoints').exists()

  _kill_at(run, f'commit:{L0}/checkpoints/step_100')
  steps = sorted(p.name for p in (rdir / L0 / 'checkpoints').iterdir())
  assert 'step_50' in steps and 'step_100' not in steps, steps

  _kill_at(run, f'wrote:{L0}/checkpoints/step_150.metrics.json')
  assert not (rdir / L0 / 'checkpoints' / 'step_150').exists()

  _kill_at(run, f'saved:{L0}/trained')
  assert not (rdir / L0 / 'summary.json').exists()

  _kill_at(run, f'wrote:{L0}/summary.json')
  assert (rdir / L0 / 'checkpoints').exists()  # not yet removed

  _kill_at(run, f'save:{L1}/masks')
  assert not (rdir / L1 / 'masks').exists()

  code, log = run.run()
  assert code == 0, log
  fh.assert_same_results(reference.results, fh.results(rdir))
  assert not fh.storage.stale_paths(rdir)


def test_kills_corruption_and_nan_in_later_levels(reference, tmp_path,
                                                   tmp_path_factory):
  run = driver(tmp_path, tmp_path_factory)
  rdir = run.run_dir
  _kill_at(run, f'commit:{L1}/masks')
  _kill_at(run, f'saved:{L1}/checkpoints/step_150')

  # A flipped byte in the newest checkpoint (read back without an orbax
  # error): caught by the digest, reported, and the previous one used.
  newest = rdir / L1 / 'checkpoints' / 'step_150'
  data = bytearray(_largest_file(newest).read_bytes())
  data[len(data) // 2] ^= 0xFF
  _largest_file(newest).write_bytes(bytes(data))
  log = _kill_at(run, f'commit:{L1}/trained')
  assert 'step_150 is incomplete or corrupt' in log, log

  _kill_at(run, f'wrote:{L1}/metrics.jsonl')
  _kill_at(run, f'saved:{L2}/checkpoints/step_100')

  # NaN data on restart: the level stops, naming level and step; nothing
  # of it is overwritten (its checkpoints stay byte-identical).
  before = fh.file_digests(rdir / L2)
  code, log = run.run('--nan-data')
  assert code == 1, log
  assert ('NonFiniteLossError: level 2, replicate 0: the training loss is '
          'NaN or infinite at step 100') in log, log
  assert 'last good checkpoint (step 100) is kept' in log
  after = fh.file_digests(rdir / L2)
  # Every file is untouched; only the live TensorBoard log gained a file.
  assert {k: after[k] for k in before} == before
  assert all(k.startswith('events/') for k in set(after) - set(before))

  # A truncated file in the newest checkpoint: the previous one is used.
  victim = _largest_file(rdir / L2 / 'checkpoints' / 'step_100')
  victim.write_bytes(victim.read_bytes()[:victim.stat().st_size // 2])
  code, log = run.run()
  assert code == 0, log
  assert 'step_100 is incomplete or corrupt' in log, log
  fh.assert_same_results(reference.results, fh.results(rdir))
  assert not fh.storage.stale_paths(rdir)


def test_kills_around_the_rewind_point(tmp_path, tmp_path_factory):
  reference = fh.reference_run(tmp_path_factory, rewind='step')
  run = driver(tmp_path, tmp_path_factory, rewind='step')
  rdir = run.run_dir
  _kill_at(run, 'commit:replicate_0/rewind_point')
  assert not (rdir / 'replicate_0' / 'rewind_point').exists()
  _kill_at(run, 'saved:replicate_0/rewind_point')
  code, log = run.run()
  assert code == 0, log
  fh.assert_same_results(reference.results, fh.results(rdir))
