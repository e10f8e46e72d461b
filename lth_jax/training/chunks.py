"""How a run is cut into chunks, and the data orders each chunk reads.

A chunk is a stretch of steps trained by one compiled call; it ends at an
evaluation, a checkpoint, a hook's step or the end, and touches at most two
epochs, whose data orders (``EpochOrders``) are computed once per epoch.
"""
import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp

from lth_jax.training import batching


def chunk_ends(start: int, total: int, every: tuple[int, ...],
               extra: tuple[int, ...] = (),
               steps_per_epoch: int | None = None) -> list[int]:
  """Sorted steps in ``(start, total]`` where a chunk of training must end.

  With ``steps_per_epoch``, chunks that would touch more than two epochs
  are split at epoch boundaries (a chunk gets two epochs' data orders).

  >>> chunk_ends(0, 10, (4,), (3,))
  [3, 4, 8, 10]
  >>> chunk_ends(0, 10, (10,), (), steps_per_epoch=3)
  [6, 10]
  """
  ends = {total}
  for e in every:
    if e:
      ends.update(range((start // e + 1) * e, total, e))
  ends.update(s for s in extra if start < s < total)
  ends = sorted(ends)
  if not steps_per_epoch:
    return ends
  out, step = [], start
  for end in ends:
    while batching.epochs_touched(step, end - step, steps_per_epoch) > 2:
      step = (step // steps_per_epoch + 2) * steps_per_epoch
      out.append(step)
    out.append(end)
    step = end
  return out


class EpochOrders:
  """Per-epoch data orders of a replicate group, computed once per epoch.

  ``orders(stacked_keys, epoch)`` is ``[K, 2, N]``: the permutations of
  ``epoch`` and ``epoch + 1`` for every replicate (the same values
  ``batching.chunk_indices`` would compute, without re-sorting per chunk).
  """

  def __init__(self, num_examples: int, place: Callable[[Any], Any]):
    self._n = num_examples
    self._place = place
    self._cache: dict[int, jax.Array] = {}

  def __call__(self, keys: jax.Array, epoch: int) -> jax.Array:
    for e in (epoch, epoch + 1):
      if e not in self._cache:
        self._cache[e] = _group_permutations(keys, e, self._n)
    self._cache = {e: v for e, v in self._cache.items() if e >= epoch}
    return self._place(jnp.concatenate(
        [self._cache[epoch], self._cache[epoch + 1]], axis=1))


@functools.partial(jax.jit, static_argnums=2)
def _group_permutations(keys: jax.Array, epoch: int, num_examples: int
                        ) -> jax.Array:
  """``[K, 1, N]``: one epoch's data order for each replicate's key."""
  return jax.vmap(lambda k: batching.epoch_permutations(
      k, epoch, 1, num_examples))(keys)
