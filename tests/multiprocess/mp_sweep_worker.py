"""One process of a multi-process sweep (see test_multiprocess_sweep.py).

  python tests/multiprocess/mp_sweep_worker.py WORKDIR STRATEGY [PAUSE]

With ``PAUSE`` (a barrier name such as ``'level 0 saved'``), the process
stops for good once every process has passed that barrier: it writes
``WORKDIR/paused.process_<i>`` and sleeps until it is killed. A test then
kills the sweep at a known state, not after a guessed number of seconds.

With ``LTH_SLOW_WRITER=<i>`` in its environment, process ``i`` takes a
second over every tree's digest, which it writes while the tree is still
under its staging name: the way a starved host writes, so that its peers
run ahead while its writes are in flight.
"""
import os
import pathlib
import sys
import time

import mp_launch as launch


def pause_after(barrier_name: str, workdir: str, process: int) -> None:
  """Makes ``processes.barrier(barrier_name)`` the point where runs stop."""
  from lth_jax.runs import processes  # pylint: disable=import-outside-toplevel
  barrier = processes.barrier

  def barrier_then_pause(name: str) -> None:
    barrier(name)
    if name == barrier_name:
      (pathlib.Path(workdir) / f'paused.process_{process}').write_text('')
      while True:
        time.sleep(60)
  processes.barrier = barrier_then_pause


def slow_writes() -> None:
  """Makes this process take a second longer over every staged tree."""
  from lth_jax import files  # pylint: disable=import-outside-toplevel
  write_json = files.write_json

  def slow_write_json(path, obj):
    if pathlib.Path(path).name == files.DIGEST_FILE:
      time.sleep(1.0)
    write_json(path, obj)
  files.write_json = slow_write_json


def main(workdir: str, strategy: str, pause: str | None = None) -> None:
  process, _ = launch.initialize()
  if os.environ.get('LTH_SLOW_WRITER') == str(process):
    slow_writes()
  from lth_jax import lottery  # pylint: disable=import-outside-toplevel
  from conftest import tiny_dataset  # pylint: disable=import-outside-toplevel
  import mp_sweep_config  # pylint: disable=import-outside-toplevel
  if pause:
    pause_after(pause, workdir, process)
  config = mp_sweep_config.sweep_config()
  config.sweep.strategy = strategy
  lottery.run(config, workdir, dataset=tiny_dataset())
  print('done', flush=True)


if __name__ == '__main__':
  main(*sys.argv[1:])
