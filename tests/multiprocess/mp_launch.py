"""Starts N real JAX processes on localhost, joined by jax.distributed.

``launch(script, n, args)`` runs ``python script`` ``n`` times, each with
``LTH_COORDINATOR=localhost:<free port>``, ``LTH_NUM_PROCESSES=n`` and
``LTH_PROCESS_ID=i`` in its environment; the worker calls ``initialize()``
first thing. CPU collectives go through gloo (JAX's own).
"""
import dataclasses
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]


def free_port() -> int:
  """A TCP port that nothing listens on now (the OS picks it)."""
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def initialize() -> tuple[int, int]:
  """``jax.distributed.initialize`` from the launcher's environment.

  Returns:
    (process id, process count).
  """
  import jax  # pylint: disable=import-outside-toplevel
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  n = int(os.environ['LTH_NUM_PROCESSES'])
  i = int(os.environ['LTH_PROCESS_ID'])
  jax.distributed.initialize(
      coordinator_address=os.environ['LTH_COORDINATOR'], num_processes=n,
      process_id=i, initialization_timeout=120,
      # A process whose peer died exits within a minute, not after 5.
      shutdown_timeout_seconds=60)
  jax.devices()  # Joins the global topology now, not inside the run.
  return i, n


@dataclasses.dataclass
class Result:
  returncodes: list[int]
  outputs: list[str]
  seconds: float

  def check(self) -> 'Result':
    for i, (rc, out) in enumerate(zip(self.returncodes, self.outputs)):
      if rc != 0:
        raise AssertionError(f'process {i} exited {rc}:\n{out[-4000:]}')
    return self


def start(script: str, n: int, args: list[str], env: dict | None = None,
          local_devices: int = 1) -> list[subprocess.Popen]:
  """Starts the ``n`` processes; returns them.

  Each writes its output to a temporary file, not a pipe: a process that
  prints more than a pipe holds would block until somebody reads it.
  """
  port = free_port()
  path = f'{REPO}:{REPO / "tests"}:{REPO / "tests" / "multiprocess"}'
  base = dict(os.environ, PYTHONPATH=path,
              LTH_COORDINATOR=f'localhost:{port}',
              LTH_NUM_PROCESSES=str(n), TF_CPP_MIN_LOG_LEVEL='2',
              XLA_FLAGS=('--xla_force_host_platform_device_count='
                         f'{local_devices}'), **(env or {}))
  procs = []
  for i in range(n):
    log = tempfile.TemporaryFile('w+')  # pylint: disable=consider-using-with
    procs.append(subprocess.Popen(
        [sys.executable, str(REPO / script), *args], cwd=REPO,
        env=dict(base, LTH_PROCESS_ID=str(i)), stdout=log,
        stderr=subprocess.STDOUT, text=True))
    procs[-1].log = log
  return procs


def _output(p: subprocess.Popen) -> str:
  p.log.seek(0)
  return p.log.read()


def wait(procs: list[subprocess.Popen], timeout: float = 300) -> Result:
  """Waits for every process (kills all if one hangs past ``timeout``)."""
  tic = time.perf_counter()
  outs = []
  for p in procs:
    try:
      p.wait(timeout=max(1, timeout - (time.perf_counter() - tic)))
      out = _output(p)
    except subprocess.TimeoutExpired:
      for q in procs:
        q.kill()
      p.wait()
      out = _output(p) + f'\n[killed after {timeout} s]'
    outs.append(out)
  return Result([p.returncode for p in procs], outs,
                time.perf_counter() - tic)


def launch(script: str, n: int, args: list[str], env: dict | None = None,
           timeout: float = 300, local_devices: int = 1) -> Result:
  """Runs ``n`` processes of ``script`` to the end."""
  return wait(start(script, n, args, env, local_devices), timeout)
