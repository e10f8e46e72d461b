"""Result tables: per-level aggregates over replicates, as CSV or markdown."""
import csv
import io
import pathlib
from typing import Any, Iterable

import numpy as np

COLUMNS = ('branch', 'level', 'weights_remaining_pct', 'replicates',
           'early_stop_test_acc_mean', 'early_stop_test_acc_min',
           'early_stop_test_acc_max', 'early_stop_step_mean',
           'final_test_acc_mean')


def aggregate(summaries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
  """One row per (branch, level): mean / min / max over replicates."""
  groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
  for s in summaries:
    groups.setdefault((s.get('branch', 'trunk'), s['level']), []).append(s)
  rows = []
  for (branch, level), group in sorted(groups.items(),
                                       key=lambda kv: (kv[0][0] != 'trunk',
                                                       kv[0])):
    acc = np.array([g['early_stop_test_acc'] for g in group]) * 100
    rows.append({
        'branch': branch, 'level': level,
        'weights_remaining_pct': 100 * float(np.mean(
            [g['weights_remaining'] for g in group])),
        'replicates': len(group),
        'early_stop_test_acc_mean': float(acc.mean()),
        'early_stop_test_acc_min': float(acc.min()),
        'early_stop_test_acc_max': float(acc.max()),
        'early_stop_step_mean': float(np.mean(
            [g['early_stop_step'] for g in group])),
        'final_test_acc_mean': 100 * float(np.mean(
            [g['final_test_acc'] for g in group])),
    })
  return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
  out = io.StringIO()
  writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator='\n')
  writer.writeheader()
  for row in rows:
    writer.writerow({k: (f'{v:.4f}' if isinstance(v, float) else v)
                     for k, v in row.items() if k in COLUMNS})
  return out.getvalue()


def write_csv(rows: list[dict[str, Any]], path: str | pathlib.Path) -> None:
  from lth_jax.lottery import storage  # pylint: disable=import-outside-toplevel
  storage.write_text_atomic(path, to_csv(rows))


def to_markdown(rows: list[dict[str, Any]]) -> str:
  """A readable table of test accuracy at early stop per level.

  >>> print(to_markdown([{'branch': 'trunk', 'level': 0,
  ...     'weights_remaining_pct': 100.0, 'replicates': 1,
  ...     'early_stop_test_acc_mean': 98.0, 'early_stop_test_acc_min': 98.0,
  ...     'early_stop_test_acc_max': 98.0, 'early_stop_step_mean': 4000.0,
  ...     'final_test_acc_mean': 97.9}]))
  | branch | level | weights % | test acc @ early stop (min-max) | early stop | final test acc |
  |---|---|---|---|---|---|
  | trunk | 0 | 100.0 | 98.00 (98.00-98.00) | 4000 | 97.90 |
  """
  lines = ['| branch | level | weights % | test acc @ early stop (min-max) '
           '| early stop | final test acc |', '|---|---|---|---|---|---|']
  for r in rows:
    lines.append(
        f"| {r['branch']} | {r['level']} | {r['weights_remaining_pct']:.1f} "
        f"| {r['early_stop_test_acc_mean']:.2f} "
        f"({r['early_stop_test_acc_min']:.2f}-"
        f"{r['early_stop_test_acc_max']:.2f}) "
        f"| {r['early_stop_step_mean']:.0f} | {r['final_test_acc_mean']:.2f} |")
  return '\n'.join(lines)
