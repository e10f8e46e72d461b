"""Evaluation metrics beyond accuracy (multi-label F1, precision, recall)."""
from lth_jax.metrics.multilabel import evaluate_multilabel
from lth_jax.metrics.multilabel import f1_scores
from lth_jax.metrics.multilabel import label_counts
from lth_jax.metrics.multilabel import MultiLabelEvaluate
