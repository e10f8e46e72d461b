"""Helpers of the fault suite: driver subprocesses and result comparison.

The driver (``run_imp.py``) runs a small real IMP experiment; these helpers
start it, kill it, and read what it wrote, so that the tests can compare a
run that survived faults with an uninterrupted one, bit for bit.
"""
import contextlib
import dataclasses
import fcntl
import hashlib
import os
import pathlib
import signal
import subprocess
import sys
import shutil
import time
from typing import Any, Callable

import jax
import numpy as np

from lth_jax import lottery
from lth_jax.runs import storage
from lth_jax.pruning import tree_paths

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
DRIVER = HERE / 'run_imp.py'
sys.path.insert(0, str(HERE))
import run_imp  # pylint: disable=wrong-import-position
from conftest import shared_tmp  # pylint: disable=wrong-import-position

TIMEOUT = 300  # seconds; one driver run takes ~5-15 s on 2 busy cores
TREES = ('masks', 'trained')


@contextlib.contextmanager
def file_lock(path: pathlib.Path):
  """Serialises a block across processes (xdist workers)."""
  with open(path, 'w') as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)


@dataclasses.dataclass
class Driver:
  """Runs ``run_imp.py`` on one work directory."""
  workdir: pathlib.Path
  cache: pathlib.Path
  rewind: str = 'init'

  @property
  def run_dir(self) -> pathlib.Path:
    return self.workdir / lottery.run_hash(run_imp.config(self.rewind))

  def env(self) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO),
               # A persistent compilation cache: restarts skip recompiling
               # (the cached executables are the same programs).
               JAX_COMPILATION_CACHE_DIR=str(self.cache),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS='0',
               JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES='-1')
    return env

  def start(self, *args: str) -> subprocess.Popen:
    log = self.workdir.parent / f'{self.workdir.name}.{time.time_ns()}.log'
    self.workdir.mkdir(parents=True, exist_ok=True)
    out = open(log, 'w')  # pylint: disable=consider-using-with
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), str(self.workdir), '--rewind',
         self.rewind, *args], stdout=out, stderr=subprocess.STDOUT,
        env=self.env(), cwd=REPO)
    proc.log = log
    out.close()
    return proc

  def run(self, *args: str) -> tuple[int, str]:
    """Runs the driver to its end; returns its exit code and output."""
    proc = self.start(*args)
    try:
      proc.wait(timeout=TIMEOUT)
    finally:
      if proc.poll() is None:
        proc.kill()
        proc.wait()
    return proc.returncode, proc.log.read_text()

  def wait_locked(self, proc: subprocess.Popen) -> bool:
    """Waits until ``proc`` holds the run lock (False: it ended first)."""
    lock = self.run_dir / 'lock'
    deadline = time.time() + TIMEOUT
    while time.time() < deadline and proc.poll() is None:
      with contextlib.suppress(OSError):
        if lock.read_text().startswith(f'pid {proc.pid} '):
          return True
      time.sleep(0.01)
    return False


def kill(proc: subprocess.Popen) -> bool:
  """SIGKILLs ``proc``; returns whether it was still running."""
  if proc.poll() is not None:
    return False
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  return proc.returncode == -signal.SIGKILL


def _tree_bytes(path: pathlib.Path) -> dict[str, bytes]:
  tree = storage.load_tree(path)
  return {p: np.asarray(x).dtype.str.encode() + str(np.shape(x)).encode()
          + np.asarray(x).tobytes()
          for p, x in zip(tree_paths.leaf_paths(tree), jax.tree.leaves(tree))}


def results(run_dir: pathlib.Path) -> dict[str, Any]:
  """Everything a finished run holds that must be reproducible, exactly.

  Per level: the masks and trained arrays (bytes, dtype and shape of every
  leaf), ``metrics.jsonl`` and ``summary.json`` (text) and the level
  directory's entries; the initial and rewind-point arrays; the config.
  """
  out = {'config.json': (run_dir / 'config.json').read_text()}
  for rep in sorted(run_dir.glob('replicate_*')):
    for name in ('init', 'rewind_point'):
      if (rep / name).exists():
        out[f'{rep.name}/{name}'] = _tree_bytes(rep / name)
    out[f'{rep.name}/entries'] = sorted(p.name for p in rep.iterdir())
    for level in sorted(rep.glob('level_*')):
      key = f'{rep.name}/{level.name}'
      out[f'{key}/entries'] = sorted(p.name for p in level.iterdir())
      for name in TREES:
        out[f'{key}/{name}'] = _tree_bytes(level / name)
      for name in ('metrics.jsonl', 'summary.json'):
        out[f'{key}/{name}'] = (level / name).read_text()
  return out


def assert_same_results(expected: dict[str, Any], got: dict[str, Any]
                        ) -> None:
  """Asserts bit-identical results, naming the first difference."""
  assert sorted(got) == sorted(expected)
  for key in expected:
    assert got[key] == expected[key], f'{key} differs from the reference'


def file_digests(directory: pathlib.Path) -> dict[str, str]:
  """sha256 of every file under ``directory`` (for 'untouched' checks)."""
  return {str(p.relative_to(directory)):
          hashlib.sha256(p.read_bytes()).hexdigest()
          for p in sorted(directory.rglob('*')) if p.is_file()}


def tree_files(directory: pathlib.Path) -> dict[str, bytes]:
  """Every path (files with their bytes, folders) under ``directory``.

  A run directory's ``lock`` file names its current holder, which tests on
  other xdist workers may be for a moment: only its presence counts.
  """
  return {str(p.relative_to(directory)):
          (b'<lock>' if p.name == 'lock' else p.read_bytes()) if p.is_file()
          else b'<dir>' for p in sorted(directory.rglob('*'))}


def shared_once(tmp_path_factory: Any, name: str,
                make: Callable[[pathlib.Path], Any]) -> pathlib.Path:
  """``make(folder)`` once per session; the folder is shared by workers."""
  shared = shared_tmp(tmp_path_factory)
  folder = shared / name
  with file_lock(shared / f'{name}.lock'):
    if not (shared / f'{name}.done').exists():
      shutil.rmtree(folder, ignore_errors=True)
      folder.mkdir()
      make(folder)
      (shared / f'{name}.done').touch()
  return folder


def cache_dir(tmp_path_factory: Any) -> pathlib.Path:
  path = shared_tmp(tmp_path_factory) / 'faults-jax-cache'
  path.mkdir(exist_ok=True)
  return path


@dataclasses.dataclass
class Reference:
  """An uninterrupted driver run: its results and how long it worked."""
  results: dict[str, Any]
  work_seconds: float


def reference_run(tmp_path_factory: Any, rewind: str = 'init') -> Reference:
  """The uninterrupted driver run, made once per session."""
  cache = cache_dir(tmp_path_factory)

  def make(folder: pathlib.Path) -> None:
    driver = Driver(folder / 'work', cache, rewind)
    proc = driver.start()
    assert driver.wait_locked(proc), proc.log.read_text()
    tic = time.time()
    proc.wait(timeout=TIMEOUT)
    assert proc.returncode == 0, proc.log.read_text()
    (folder / 'work_seconds').write_text(str(time.time() - tic))

  folder = shared_once(tmp_path_factory, f'faults-reference-{rewind}', make)
  return Reference(results(Driver(folder / 'work', cache, rewind).run_dir),
                   float((folder / 'work_seconds').read_text()))


def progress(run_dir: pathlib.Path) -> str:
  """Where a run stands: finished levels and the newest checkpoint."""
  done = sorted(p.parent.name for p in run_dir.glob('*/level_*/summary.json'))
  steps = sorted(p.parent.parent.name + '/' + p.name
                 for p in run_dir.glob('*/level_*/checkpoints/step_*')
                 if storage.tree_exists(p))
  return f'finished {done}, checkpoints {steps}'
