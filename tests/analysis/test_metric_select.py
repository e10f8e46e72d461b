"""Reports of a metric other than accuracy: picked at the early stop."""
import pytest

from lth_jax.analysis import metric_select
from lth_jax.runs import storage


def write_level(run_dir, replicate, level, rows, branch=None):
  out = storage.level_dir(run_dir, replicate, level, branch)
  storage.write_jsonl(out / 'metrics.jsonl', rows)
  return {'level': level, 'replicate': replicate,
          'branch': branch or 'trunk', 'early_stop_test_acc': 0.1,
          'final_test_acc': 0.2}


def test_metric_at_the_minimum_validation_loss_and_at_the_end(tmp_path):
  rows = [{'step': 10, 'val_loss': 0.5, 'test_micro_f1': 0.6},
          {'step': 20, 'val_loss': 0.3, 'test_micro_f1': 0.7},
          {'step': 30, 'val_loss': 0.4, 'test_micro_f1': 0.9}]
  summaries = [write_level(tmp_path, 0, 1, rows),
               write_level(tmp_path, 1, 1, rows[:1], 'random_reinit')]
  out = metric_select.with_metric(tmp_path, summaries, 'micro_f1')
  assert (out[0]['early_stop_test_acc'], out[0]['final_test_acc']) == (
      0.7, 0.9)
  assert (out[1]['early_stop_test_acc'], out[1]['final_test_acc']) == (
      0.6, 0.6)
  assert summaries[0]['early_stop_test_acc'] == 0.1     # copies
  assert metric_select.with_metric(tmp_path, summaries, 'acc') == summaries


def test_missing_metric_lists_what_was_logged(tmp_path):
  rows = [{'step': 5, 'val_loss': 0.2, 'test_acc': 0.9, 'test_loss': 0.1}]
  summaries = [write_level(tmp_path, 0, 0, rows)]
  with pytest.raises(ValueError, match="no 'test_micro_f1'.*acc, loss"):
    metric_select.with_metric(tmp_path, summaries, 'micro_f1')
