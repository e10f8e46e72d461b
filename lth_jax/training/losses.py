"""Losses and accuracy for single-label, multi-label and multi-head tasks."""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax


class Task(NamedTuple):
  """What the labels mean (static, hashable).

  Attributes:
    multi_label: labels are multi-hot ``[N, C]``; sigmoid cross-entropy.
    head_sizes: for multi-head models (e.g. ``(10, 10)`` for MNIST +
      Fashion-MNIST side by side): labels are ``[N, H]`` class indices, one
      per head, and the loss is the mean of the heads' cross-entropies.
  """
  multi_label: bool = False
  head_sizes: tuple[int, ...] | None = None


def _split(logits: jax.Array, head_sizes: tuple[int, ...]) -> list[jax.Array]:
  # Static split points (numpy: jnp would be traced inside jit).
  bounds = np.cumsum(head_sizes)[:-1].tolist()
  return jnp.split(logits, bounds, axis=-1)


def per_example(logits: jax.Array, labels: jax.Array, task: Task
                ) -> tuple[jax.Array, jax.Array]:
  """Per-example loss and correctness (fraction of heads/labels right)."""
  if task.multi_label:
    loss = optax.sigmoid_binary_cross_entropy(logits, labels).mean(-1)
    correct = ((logits > 0) == (labels > 0.5)).all(-1)
    return loss, correct.astype(jnp.float32)
  if task.head_sizes:
    heads = _split(logits, task.head_sizes)
    losses = [optax.softmax_cross_entropy_with_integer_labels(h, labels[:, i])
              for i, h in enumerate(heads)]
    correct = [(jnp.argmax(h, -1) == labels[:, i]) for i, h in
               enumerate(heads)]
    return (sum(losses) / len(heads),
            sum(c.astype(jnp.float32) for c in correct) / len(heads))
  loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
  return loss, (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
