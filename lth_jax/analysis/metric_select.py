"""Report a metric other than accuracy (e.g. micro-F1) at early stop.

A level's ``summary.json`` keeps the test *accuracy* at the early-stop
evaluation. Multi-label runs also log ``test_micro_f1`` and friends in each
level's ``metrics.jsonl``; ``with_metric`` puts such a metric in the places
the tables and plots read (``early_stop_test_acc``, ``final_test_acc``), so
that ``tables.aggregate`` and the figures work unchanged.
"""
import pathlib
from typing import Any, Iterable

from lth_jax import errors
from lth_jax.runs import layout
from lth_jax.runs import storage
from lth_jax.lottery import summaries as summaries_lib

TRUNK = 'trunk'


def level_rows(run_dir: str | pathlib.Path, summary: dict[str, Any]
               ) -> list[dict[str, Any]]:
  """The evaluations (``metrics.jsonl``) of the level ``summary`` names."""
  branch = summary.get('branch', TRUNK)
  job = layout.RunLayout(run_dir).job(summary['replicate'], summary['level'],
                                     None if branch == TRUNK else branch)
  return storage.read_jsonl(job.metrics)


def with_metric(run_dir: str | pathlib.Path,
                summaries: Iterable[dict[str, Any]], metric: str
                ) -> list[dict[str, Any]]:
  """``summaries`` with ``test_<metric>`` in the accuracy fields.

  Args:
    run_dir: the run the summaries come from.
    summaries: its level summaries (``storage.run_summaries``).
    metric: an evaluation key, e.g. ``'micro_f1'`` (``'acc'`` changes
      nothing).

  Returns:
    Copies: ``early_stop_test_acc`` holds the metric at the early-stop
    evaluation (minimum validation loss), ``final_test_acc`` at the last.

  Raises:
    ValueError: a level did not log ``test_<metric>`` there; the message
      lists the metrics it did log.
  """
  out = []
  for s in summaries:
    if metric == 'acc':
      out.append(dict(s))
      continue
    rows = level_rows(run_dir, s)
    key = f'test_{metric}'
    picked = {'early_stop_test_acc': summaries_lib.early_stop(rows),
              'final_test_acc': rows[-1]}
    values = {}
    for field, row in picked.items():
      if row.get(key) is None:
        known = sorted(k[len('test_'):] for k, v in row.items()
                       if k.startswith('test_') and v is not None)
        raise errors.InputError(
            f"level {s['level']} (replicate {s['replicate']}, "
            f"{s.get('branch', TRUNK)}) of {run_dir} has no {key!r} at step "
            f"{row['step']}; metrics logged there: {', '.join(known)}.")
      values[field] = row[key]
    out.append(dict(s, **values))
  return out
