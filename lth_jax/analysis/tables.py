"""Result tables: per-level aggregates over replicates, as CSV or markdown.

A *summary* is one level of one replicate (a level's ``summary.json``); an
aggregated *row* is one (run, branch, level) with the mean, minimum and
maximum over replicates. Accuracies in rows are percentages.
"""
import csv
import io
import pathlib
from typing import Any, Iterable

import numpy as np

from lth_jax import files

COLUMNS = ('run', 'branch', 'level', 'weights_remaining_pct', 'replicates',
           'early_stop_test_acc_mean', 'early_stop_test_acc_min',
           'early_stop_test_acc_max', 'early_stop_step_mean',
           'early_stop_step_min', 'early_stop_step_max',
           'final_test_acc_mean')

TRUNK = 'trunk'


def _stats(name: str, values: list[float], scale: float = 1.0
           ) -> dict[str, float]:
  v = np.asarray(values, np.float64) * scale
  return {f'{name}_mean': float(v.mean()), f'{name}_min': float(v.min()),
          f'{name}_max': float(v.max())}


def replicate_values(group: list[dict[str, Any]]) -> dict[str, list[Any]]:
  """Per-replicate values of a row, in replicate order, for the verdicts
  of ``lth_jax.analysis.verdicts`` (not written to the CSV)."""
  return {'replicate_ids': [g.get('replicate', 0) for g in group],
          'early_stop_test_acc_values': [100 * float(g['early_stop_test_acc'])
                                         for g in group],
          'early_stop_step_values': [float(g['early_stop_step'])
                                     for g in group]}


def aggregate(summaries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
  """One row per (run, branch, level): mean / min / max over replicates.

  Summaries carry an optional ``'run'`` label (default ``''``). Rows come
  sorted by run, then the trunk before the branches, then level.

  >>> rows = aggregate([
  ...     {'level': 1, 'replicate': r, 'weights_remaining': .5,
  ...      'early_stop_test_acc': a, 'early_stop_step': s,
  ...      'final_test_acc': a} for r, (a, s) in enumerate([(.9, 100),
  ...                                                       (.8, 300)])])
  >>> rows[0]['early_stop_test_acc_mean'], rows[0]['early_stop_step_max']
  (85.0, 300.0)
  """
  groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
  for s in summaries:
    key = (s.get('run', ''), s.get('branch', TRUNK), s['level'])
    groups.setdefault(key, []).append(s)
  rows = []
  for (run, branch, level) in sorted(
      groups, key=lambda k: (k[0], k[1] != TRUNK, k[1], k[2])):
    group = sorted(groups[(run, branch, level)],
                   key=lambda g: g.get('replicate', 0))
    rows.append({
        'run': run, 'branch': branch, 'level': level,
        'weights_remaining_pct': 100 * float(np.mean(
            [g['weights_remaining'] for g in group])),
        'replicates': len(group),
        **_stats('early_stop_test_acc',
                 [g['early_stop_test_acc'] for g in group], 100),
        **_stats('early_stop_step', [g['early_stop_step'] for g in group]),
        'final_test_acc_mean': 100 * float(np.mean(
            [g['final_test_acc'] for g in group])),
        **replicate_values(group),
    })
  return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
  """The rows as CSV text with the ``COLUMNS`` header."""
  out = io.StringIO()
  writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator='\n',
                          extrasaction='ignore')
  writer.writeheader()
  for row in rows:
    writer.writerow({k: (f'{v:.4f}' if isinstance(v, float) else v)
                     for k, v in row.items()})
  return out.getvalue()


def write_csv(rows: list[dict[str, Any]], path: str | pathlib.Path) -> None:
  """Writes ``to_csv(rows)`` atomically."""
  files.write_text_atomic(path, to_csv(rows))


def _acc(r: dict[str, Any]) -> str:
  return (f"{r['early_stop_test_acc_mean']:.2f} "
          f"({r['early_stop_test_acc_min']:.2f}-"
          f"{r['early_stop_test_acc_max']:.2f})")


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
    branch = f"{r['run']} {r['branch']}" if r.get('run') else r['branch']
    lines.append(
        f"| {branch} | {r['level']} | {r['weights_remaining_pct']:.1f} "
        f"| {_acc(r)} | {r['early_stop_step_mean']:.0f} "
        f"| {r['final_test_acc_mean']:.2f} |")
  return '\n'.join(lines)


def comparison_markdown(rows: list[dict[str, Any]]) -> str:
  """The trunk against each control, one line per trunk level.

  Columns: weights remaining, then per branch the mean test accuracy at
  early stop (min-max over replicates) and the mean early-stop iteration.
  Levels a branch has not run show a dash. Rows of several runs are
  compared run by run.

  >>> row = dict(run='', level=1, weights_remaining_pct=51.3, replicates=2,
  ...            early_stop_test_acc_mean=98.0, early_stop_test_acc_min=97.9,
  ...            early_stop_test_acc_max=98.1, early_stop_step_mean=2000.0)
  >>> print(comparison_markdown([dict(row, branch='trunk'),
  ...     dict(row, branch='random_reinit', early_stop_test_acc_mean=97.0)]))
  | weights % | trunk acc (min-max) | trunk stop | random_reinit acc (min-max) | random_reinit stop |
  |---|---|---|---|---|
  | 51.3 | 98.00 (97.90-98.10) | 2000 | 97.00 (97.90-98.10) | 2000 |
  """
  tables = []
  for run in sorted({r.get('run', '') for r in rows}):
    mine = [r for r in rows if r.get('run', '') == run]
    names = [TRUNK] + sorted({r['branch'] for r in mine} - {TRUNK})
    by_key = {(r['branch'], r['level']): r for r in mine}
    header = ['weights %'] + [f'{n} {what}' for n in names
                              for what in ('acc (min-max)', 'stop')]
    lines = ([f'{run}:'] if run else []) + [
        '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for level in sorted(lvl for b, lvl in by_key if b == TRUNK):
      cells = [f"{by_key[(TRUNK, level)]['weights_remaining_pct']:.1f}"]
      for name in names:
        r = by_key.get((name, level))
        cells += ([_acc(r), f"{r['early_stop_step_mean']:.0f}"] if r
                  else ['-', '-'])
      lines.append('| ' + ' | '.join(cells) + ' |')
    tables.append('\n'.join(lines))
  return '\n\n'.join(tables)
