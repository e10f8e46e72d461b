"""Multi-label metrics at a threshold: micro/macro F1, precision, recall.

Counts of true positives, false positives and false negatives per class are
summed over a whole split, then turned into scores with scikit-learn's
conventions (``f1_score(..., zero_division=0)``): a class with no positive
prediction and no positive target scores 0 in the macro mean.
"""
import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from lth_jax.training import losses
from lth_jax.training import steps


def label_counts(scores: jax.Array, labels: jax.Array,
                 threshold: float = 0.5, weights: jax.Array | None = None
                 ) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Per-class (tp, fp, fn) of predictions ``scores >= threshold``.

  Args:
    scores: probabilities ``[N, C]``.
    labels: multi-hot targets ``[N, C]``.
    threshold: a class is predicted where its probability reaches it.
    weights: optional ``[N]`` 0/1 weights (padding rows get 0).

  Returns:
    Three float32 ``[C]`` arrays.

  >>> tp, fp, fn = label_counts(jnp.array([[0.9, 0.2], [0.6, 0.7]]),
  ...                           jnp.array([[1., 1.], [0., 1.]]))
  >>> tp.tolist(), fp.tolist(), fn.tolist()
  ([1.0, 1.0], [1.0, 0.0], [0.0, 1.0])
  """
  pred = (scores >= threshold).astype(jnp.float32)
  true = (labels > 0.5).astype(jnp.float32)
  w = jnp.ones(scores.shape[:1], jnp.float32) if weights is None else weights
  w = w[:, None]
  return ((pred * true * w).sum(0), (pred * (1 - true) * w).sum(0),
          ((1 - pred) * true * w).sum(0))


def _ratio(num: jax.Array, den: jax.Array) -> jax.Array:
  return jnp.where(den > 0, num / jnp.maximum(den, 1e-12), 0.0)


def f1_scores(tp: jax.Array, fp: jax.Array, fn: jax.Array
              ) -> dict[str, jax.Array]:
  """Micro F1 / precision / recall and macro F1 from per-class counts.

  >>> s = f1_scores(jnp.array([1., 1.]), jnp.array([1., 0.]),
  ...               jnp.array([0., 1.]))
  >>> [round(float(s[k]), 4) for k in ('micro_f1', 'macro_f1')]
  [0.6667, 0.6667]
  """
  tp_sum, fp_sum, fn_sum = tp.sum(), fp.sum(), fn.sum()
  per_class = _ratio(2 * tp, 2 * tp + fp + fn)
  return {'micro_f1': _ratio(2 * tp_sum, 2 * tp_sum + fp_sum + fn_sum),
          'micro_precision': _ratio(tp_sum, tp_sum + fp_sum),
          'micro_recall': _ratio(tp_sum, tp_sum + fn_sum),
          'macro_f1': per_class.mean()}


def evaluate_multilabel(state: Any, images: jax.Array, labels: jax.Array,
                        batch_size: int = 1000, threshold: float = 0.5
                        ) -> dict[str, jax.Array]:
  """Loss, exact-match accuracy and F1 scores of the masked network.

  Args:
    state: a ``training.state.TrainState``.
    images: inputs ``[N, ...]`` (token ids for text).
    labels: multi-hot targets ``[N, C]``.
    batch_size: examples per forward pass (the split is padded to a
      multiple; padding rows count nowhere).
    threshold: on the sigmoid probabilities (0.5).

  Returns:
    ``{'loss', 'acc', 'micro_f1', 'micro_precision', 'micro_recall',
    'macro_f1'}``, scalars; ``acc`` is the fraction of examples with every
    label right (as ``losses.per_example``).
  """
  n = images.shape[0]
  task = losses.Task(multi_label=True)

  def one(x, y, w):
    logits, _ = steps.forward(state, state.params, x, False)
    loss, correct = losses.per_example(logits, y, task)
    counts = label_counts(jax.nn.sigmoid(logits), y, threshold, w)
    return jnp.sum(loss * w), jnp.sum(correct * w), counts

  loss, correct, (tp, fp, fn) = steps.over_batches(one, images, labels,
                                                   batch_size)
  return {'loss': loss.sum() / n, 'acc': correct.sum() / n,
          **f1_scores(tp.sum(0), fp.sum(0), fn.sum(0))}


@dataclasses.dataclass(frozen=True)
class MultiLabelEvaluate:
  """``evaluate_multilabel`` as the engine's hashable ``evaluate``.

  >>> MultiLabelEvaluate(500) == MultiLabelEvaluate(500)
  True
  """
  batch_size: int = 1000
  threshold: float = 0.5

  def __call__(self, state: Any, inputs: jax.Array, labels: jax.Array
               ) -> dict[str, jax.Array]:
    return evaluate_multilabel(state, inputs, labels, self.batch_size,
                               self.threshold)
