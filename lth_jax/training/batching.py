"""Deterministic on-device batching from a data-order key.

The examples of step ``s`` depend only on ``(data_key, s)``: epoch
``e = s // steps_per_epoch`` is a permutation drawn from
``fold_in(data_key, e)`` (the last partial batch is dropped), so resuming
at any step replays exactly the same data order.
"""
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import errors


class DeviceData(NamedTuple):
  """A data set's splits as device arrays (passed to jitted functions)."""
  train_images: jax.Array
  train_labels: jax.Array
  val_images: jax.Array
  val_labels: jax.Array
  test_images: jax.Array
  test_labels: jax.Array


def to_device(dataset) -> DeviceData:
  """Puts a ``lth_jax.data.Dataset``'s arrays on the default device."""
  return DeviceData(*(jnp.asarray(a) for a in (
      dataset.train_images, dataset.train_labels, dataset.val_images,
      dataset.val_labels, dataset.test_images, dataset.test_labels)))


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
  if batch_size > num_examples:
    raise errors.InputError(
        f'batch size {batch_size} exceeds the {num_examples} '
        'training examples.')
  return num_examples // batch_size


def epoch_permutations(data_key: jax.Array, first_epoch: Any,
                       num_epochs: int, num_examples: int) -> jax.Array:
  """The data orders ``[num_epochs, num_examples]`` of consecutive epochs."""
  epochs = first_epoch + jnp.arange(num_epochs)
  return jax.vmap(lambda e: jax.random.permutation(
      jax.random.fold_in(data_key, e), num_examples))(epochs)


def epochs_touched(start_step: int, num_steps: int, spe: int) -> int:
  """How many epochs steps ``[start_step, start_step + num_steps)`` touch."""
  return (start_step + num_steps - 1) // spe - start_step // spe + 1


def chunk_indices(data_key: jax.Array, start_step: jax.Array, num_steps: int,
                  batch_size: int, num_examples: int,
                  perms: jax.Array | None = None) -> jax.Array:
  """Example indices ``[num_steps, batch_size]`` for steps from ``start_step``.

  ``start_step`` may be traced; the other arguments are static. ``perms``
  optionally passes the permutations of the epochs the chunk touches,
  starting at ``start_step // steps_per_epoch`` (computed here otherwise):
  a driver that caches them per epoch saves the sorts.

  >>> idx = chunk_indices(jax.random.key(0), 0, 3, 2, 5)
  >>> idx.shape, bool(jnp.all(idx[1:] == chunk_indices(jax.random.key(0), 1,
  ...                                                  2, 2, 5)))
  ((3, 2), True)
  """
  spe = steps_per_epoch(num_examples, batch_size)
  first_epoch = start_step // spe
  if perms is None:
    # Epochs a chunk can touch: known statically from its length.
    perms = epoch_permutations(data_key, first_epoch,
                               (num_steps - 1) // spe + 2, num_examples)
  steps = start_step + jnp.arange(num_steps)
  rows = steps // spe - first_epoch
  cols = (steps % spe)[:, None] * batch_size + jnp.arange(batch_size)
  return perms[rows[:, None], cols]


def step_indices(data_key: jax.Array, step: int, batch_size: int,
                 num_examples: int) -> np.ndarray:
  """The indices of one step (reference implementation for tests)."""
  spe = steps_per_epoch(num_examples, batch_size)
  perm = jax.random.permutation(jax.random.fold_in(data_key, step // spe),
                                num_examples)
  start = (step % spe) * batch_size
  return np.asarray(perm[start:start + batch_size])
