"""Per-level summaries: the early-stopping iteration and accuracies."""
from typing import Any


def early_stop(rows: list[dict[str, Any]]) -> dict[str, Any]:
  """The evaluation with the minimum validation loss (first on ties).

  Selecting by validation loss, never by test accuracy, keeps the test set
  out of model selection.

  >>> early_stop([{'step': 1, 'val_loss': .5}, {'step': 2, 'val_loss': .4},
  ...             {'step': 3, 'val_loss': .4}])['step']
  2
  """
  return min(rows, key=lambda r: (r['val_loss'], r['step']))


def level_summary(rows: list[dict[str, Any]], sparsity: dict[str, Any],
                  level: int, replicate: int, branch: str | None = None
                  ) -> dict[str, Any]:
  """What a level's ``summary.json`` holds."""
  best, last = early_stop(rows), rows[-1]
  return {
      'level': level, 'replicate': replicate, 'branch': branch or 'trunk',
      'weights_remaining': sparsity['fraction'],
      'remaining': sparsity['remaining'], 'prunable': sparsity['size'],
      'layers': {k: v['fraction'] for k, v in sparsity['layers'].items()},
      'early_stop_step': best['step'],
      'early_stop_val_loss': best['val_loss'],
      'early_stop_val_acc': best['val_acc'],
      'early_stop_test_acc': best['test_acc'],
      'final_step': last['step'], 'final_val_acc': last['val_acc'],
      'final_test_acc': last['test_acc'],
  }
