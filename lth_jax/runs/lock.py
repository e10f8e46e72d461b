"""A lock on a run directory: one process writes a run at a time."""
import fcntl
import os
import pathlib
import socket

from absl import logging

from lth_jax import errors
from lth_jax.runs import processes


class RunLockedError(errors.RunStateError):
  """Another live process holds the run directory."""


class RunLock:
  """``with RunLock(run_dir):`` holds an exclusive ``flock`` on ``run_dir/lock``.

  The kernel drops the lock when its process dies, so a lock left by a
  killed run is stale: it is detected (the file names a dead holder) and
  taken over.
  """

  def __init__(self, run_dir: str | os.PathLike):
    self.path = pathlib.Path(run_dir) / processes.lock_name()
    self._fd = None

  def __enter__(self) -> 'RunLock':
    self.path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.pread(fd, 200, 0).decode(errors='replace').strip()
      os.close(fd)
      raise RunLockedError(
          f'run directory {self.path.parent} is in use by another process '
          f'({holder or "unknown"}). Wait for it to finish, stop it, or use '
          'another --workdir.') from None
    previous = os.pread(fd, 200, 0).decode(errors='replace').strip()
    if previous:
      logging.warning('taking over the stale lock of %s (that process is '
                      'gone) on %s', previous, self.path.parent)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f'pid {os.getpid()} on {socket.gethostname()}'.encode(), 0)
    self._fd = fd
    return self

  def __exit__(self, *exc) -> None:
    os.ftruncate(self._fd, 0)
    fcntl.flock(self._fd, fcntl.LOCK_UN)
    os.close(self._fd)
    self._fd = None
