"""Which process writes what, when a run spans several JAX processes.

After ``jax.distributed.initialize()`` every process runs the same driver
on the same config (JAX's multi-controller model): each computes every
replicate's start state and takes part in every collective, but only the
owner of a replicate writes its files, so no two processes ever write the
same path. Processes meet at a barrier after each level, so all of them
see the same finished levels before deciding what to train next. With one
process every function here is trivial.

The owner is process 0 for every replicate: orbax 0.12.8 writes host
(NumPy) arrays from process 0 only (``NumpyHandler`` checks
``multihost.process_index() == 0``), and the trees of a level are host
arrays. ``block_owner`` is the split that per-process writing would use
(the ``shard`` strategy's split of the replicate axis over the processes'
devices); it needs each replicate's trees saved as arrays on a device of
their owner, which ``lth_jax.files.save_tree`` does not do yet.
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


def owner(replicate: int, count: int) -> int:
  """The process that writes replicate ``replicate`` of ``count``: 0."""
  del replicate, count  # See the module docstring.
  return 0


def owns(replicate: int, count: int) -> bool:
  """Whether this process writes replicate ``replicate`` of ``count``."""
  return owner(replicate, count) == jax.process_index()


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
