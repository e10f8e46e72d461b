"""Which process writes what, when a run spans several JAX processes.

After ``jax.distributed.initialize()`` every process runs the same driver
on the same config (JAX's multi-controller model): each computes every
replicate's start state and takes part in every collective, but only the
owner of a replicate writes its files, so no two processes ever write the
same path. Processes meet at a barrier after each level, so all of them
see the same finished levels before deciding what to train next. With one
process every function here is trivial.

The owner of a replicate is the process that holds it under the ``shard``
strategy (``block_owner``: the replicate axis split in blocks over the
processes, as over their devices), so each process writes its own
replicates' trees and files (``lth_jax.files.save_tree`` writes NumPy
arrays from whichever process saves), on a file system every process
sees.
"""
import jax
from jax.experimental import multihost_utils


def block_owner(replicate: int, count: int,
                processes: int | None = None) -> int:
  """The process holding replicate ``replicate`` of ``count`` under shard.

  >>> [block_owner(r, 4, processes=2) for r in range(4)]
  [0, 0, 1, 1]
  >>> [block_owner(r, 3, processes=2) for r in range(3)]
  [0, 0, 1]
  """
  processes = jax.process_count() if processes is None else processes
  return replicate * processes // max(count, 1)


def owns(replicate: int, count: int) -> bool:
  """Whether this process writes replicate ``replicate`` of ``count``."""
  return block_owner(replicate, count) == jax.process_index()


def is_primary() -> bool:
  """Whether this is process 0 (it writes what belongs to the whole run)."""
  return jax.process_index() == 0


def barrier(name: str) -> None:
  """Waits until every process reaches ``barrier(name)`` (no-op alone)."""
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices(name)


def lock_name() -> str:
  """The run lock's file name: one lock per process of a run.

  Process 0 takes the single-process name, so a one-process run and a
  multi-process run of the same directory exclude each other too.

  >>> lock_name()
  'lock'
  """
  index = jax.process_index()
  return 'lock' if index == 0 else f'lock.process_{index}'
