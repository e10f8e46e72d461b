"""Jitted, vmap-able masked train and eval steps.

The loss sees ``params * masks`` (``jnp.where``), so pruned weights get
exactly zero gradient at every step. A level starts from masked params and a
fresh optimizer state, and every optimizer built here (Adam, SGD with
momentum, coupled weight decay) maps a zero gradient history on a zero
weight to a zero update, so pruned weights stay exactly zero without a
second masking pass (tests/training/test_steps.py checks it). Masks are
ordinary arguments of the jitted functions: a new mask never recompiles.
"""
from typing import Any, Callable

import jax
import jax.numpy as jnp

from lth_jax.pruning import masks as masks_lib
from lth_jax.training import batching
from lth_jax.training import losses
from lth_jax.training.state import TrainState

Augment = Callable[[jax.Array, jax.Array], jax.Array] | None


def _has_batch_stats(state: TrainState) -> bool:
  return bool(jax.tree.leaves(state.batch_stats))


def forward(state: TrainState, params: Any, images: jax.Array, train: bool,
            rng: jax.Array | None = None) -> tuple[jax.Array, Any]:
  """Logits of the masked network, and the updated batch stats."""
  variables = {'params': masks_lib.apply_masks(params, state.masks)}
  rngs = {'dropout': rng} if rng is not None else None
  if _has_batch_stats(state):
    variables['batch_stats'] = state.batch_stats
    if train:
      logits, updates = state.apply_fn(variables, images, train=True,
                                       mutable=['batch_stats'], rngs=rngs)
      return logits, updates['batch_stats']
  logits = state.apply_fn(variables, images, train=train, rngs=rngs)
  return logits, state.batch_stats


def train_step(state: TrainState, images: jax.Array, labels: jax.Array,
               task: losses.Task = losses.Task(), augment: Augment = None
               ) -> tuple[TrainState, jax.Array]:
  """One masked optimizer step on a batch; returns the new state and loss."""
  step_key = jax.random.fold_in(state.data_key, state.step)
  aug_key, dropout_key = jax.random.split(step_key)
  if augment is not None:
    images = augment(aug_key, images)

  def loss_fn(params):
    logits, batch_stats = forward(state, params, images, True, dropout_key)
    loss, _ = losses.per_example(logits, labels, task)
    return loss.mean(), batch_stats

  (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      state.params)
  return state.apply_gradients(grads=grads, batch_stats=batch_stats), loss


def train_steps(state: TrainState, data: batching.DeviceData, num_steps: int,
                batch_size: int, task: losses.Task = losses.Task(),
                augment: Augment = None, perms: jax.Array | None = None,
                unroll: bool = False, step_fn: Callable[..., Any] | None = None
                ) -> tuple[TrainState, jax.Array, jax.Array]:
  """``num_steps`` steps in one ``lax.scan``, batches gathered on device.

  ``perms``: optional precomputed data orders of the epochs the steps touch
  (see ``batching.chunk_indices``); the result is the same either way.
  ``unroll``: unroll the scan (no XLA while loop; for short chunks on CPU,
  where XLA runs convolution gradients slowly inside loops, jax#12868).
  ``step_fn``: the per-step function, ``train_step`` by default (same
  signature; e.g. a supermask step that trains scores, not weights).

  Returns:
    The new state, the mean training loss, and the first step whose loss was
    not finite (-1 if none).
  """
  idx = batching.chunk_indices(state.data_key, state.step, num_steps,
                               batch_size, data.train_images.shape[0], perms)

  # Gathering rows of a 2-D view is markedly faster on XLA:CPU than
  # gathering (1, H, W, C) slices of the 4-D array.
  n = data.train_images.shape[0]
  flat_images = data.train_images.reshape(n, -1)
  image_shape = (batch_size,) + data.train_images.shape[1:]

  def body(carry, batch_idx):
    state, bad_step = carry
    step = state.step
    images = flat_images[batch_idx].reshape(image_shape)
    state, loss = (step_fn or train_step)(
        state, images, data.train_labels[batch_idx], task, augment)
    bad_step = jnp.where((bad_step < 0) & ~jnp.isfinite(loss), step, bad_step)
    return (state, bad_step), loss

  carry = (state, jnp.asarray(-1, jnp.int32))
  if unroll:  # a Python loop: no XLA while loop at all
    losses = []
    for i in range(num_steps):
      carry, step_loss = body(carry, idx[i])
      losses.append(step_loss)
    (state, bad_step), loss = carry, jnp.stack(losses)
  else:
    (state, bad_step), loss = jax.lax.scan(body, carry, idx)
  return state, loss.mean(), bad_step


def evaluate(state: TrainState, images: jax.Array, labels: jax.Array,
             batch_size: int = 1000, task: losses.Task = losses.Task()
             ) -> tuple[jax.Array, jax.Array]:
  """Mean loss and accuracy of the masked network over a whole split."""
  def one(x, y, w):
    logits, _ = forward(state, state.params, x, False)
    loss, correct = losses.per_example(logits, y, task)
    return jnp.sum(loss * w), jnp.sum(correct * w)

  loss, correct = over_batches(one, images, labels, batch_size)
  n = images.shape[0]
  return loss.sum() / n, correct.sum() / n


def over_batches(fn: Callable[..., Any], images: jax.Array,
                 labels: jax.Array, batch_size: int) -> Any:
  """``fn(x, y, w)`` over a whole split in batches, in one ``lax.map``.

  The split is padded to a multiple of ``batch_size``; ``w`` is 1 for real
  rows and 0 for padding, so sums weighted by ``w`` count each example
  once. Returns ``fn``'s outputs stacked over batches.
  """
  n = images.shape[0]
  batch_size = min(batch_size, n)
  num_batches = -(-n // batch_size)
  pad = num_batches * batch_size - n

  def padded(x):
    x = jnp.concatenate([x, jnp.zeros((pad,) + x.shape[1:], x.dtype)])
    return x.reshape((num_batches, batch_size) + x.shape[1:])

  valid = padded(jnp.ones((n,), jnp.float32))
  return jax.lax.map(lambda args: fn(*args),
                     (padded(images), padded(labels), valid))

