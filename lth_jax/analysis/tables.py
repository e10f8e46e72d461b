"""Result tables: per-level aggregates over replicates, as CSV or markdown.

A *summary* is one level of one replicate (a level's ``summary.json``); an
aggregated *row* is one (run, branch, level) with the mean, minimum and
maximum over replicates. Accuracies in rows are percentages.
"""
import pathlib
from typing import Any, Iterable

import numpy as np

from lth_jax import files
from lth_jax.analysis import verdicts

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
  return files.csv_text(rows, COLUMNS, decimals=4)


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


def winning_markdown(rows: list[dict[str, Any]]) -> str:
  """Per trunk level: whether the ticket wins by Frankle & Carbin's
  definition against the dense level 0 of the same run
  (``verdicts.winning_ticket``, paired: replicate i of every level shares
  its seeds): the accuracy difference with its 95 % interval, the
  difference of mean early-stop iterations, the verdict.

  >>> row = dict(run='', branch='trunk', replicate_ids=[0, 1, 2],
  ...            weights_remaining_pct=100.)
  >>> print(winning_markdown([
  ...     dict(row, level=0, early_stop_test_acc_values=[97.5, 97.7, 98.],
  ...          early_stop_step_values=[3000., 4000., 3000.]),
  ...     dict(row, level=1, weights_remaining_pct=80.,
  ...          early_stop_test_acc_values=[97.9, 98.2, 98.1],
  ...          early_stop_step_values=[2000., 2500., 2000.])]))
  | weights % | ticket - dense acc [95 % CI] | ticket - dense stop | winning ticket |
  |---|---|---|---|
  | 80.0 | +0.33 [-0.18, +0.85] (indistinguishable) | -1167 | wins |
  """
  out = []
  for run in sorted({r.get('run', '') for r in rows}):
    trunk = {r['level']: r for r in rows
             if r.get('run', '') == run and r['branch'] == TRUNK}
    if 0 not in trunk:
      continue
    dense = trunk[0]
    lines = ([f'{run}:'] if run else []) + [
        '| weights % | ticket - dense acc [95 % CI] | ticket - dense stop '
        '| winning ticket |', '|---|---|---|---|']
    for level in sorted(lv for lv in trunk if lv):
      r = trunk[level]
      win = verdicts.winning_ticket(
          r['early_stop_test_acc_values'], dense['early_stop_test_acc_values'],
          r['early_stop_step_values'], dense['early_stop_step_values'],
          paired=r['replicate_ids'] == dense['replicate_ids'])
      lines.append(f"| {r['weights_remaining_pct']:.1f} | {win.accuracy} | "
                   f"{win.stop_diff:+.0f} | {str(win).split(':')[0]} |")
    out.append('\n'.join(lines))
  return '\n\n'.join(out)


def controls_verdict_markdown(rows: list[dict[str, Any]]) -> str:
  """Per trunk level: the ticket against each control branch of the same
  run, ``verdicts.compare_rows`` paired over shared replicates (the
  difference of mean test accuracy at early stop, its 95 % interval and
  the verdict); a dash where the branch did not run the level.

  >>> row = dict(run='', level=1, weights_remaining_pct=51.3,
  ...            replicate_ids=[0, 1, 2])
  >>> print(controls_verdict_markdown([
  ...     dict(row, branch='trunk', early_stop_test_acc_values=[98., 98.1, 98.2]),
  ...     dict(row, branch='random_reinit',
  ...          early_stop_test_acc_values=[97., 97.2, 97.1])]))
  | weights % | ticket - random_reinit [95 % CI] |
  |---|---|
  | 51.3 | +1.00 [+0.75, +1.25] (better) |
  """
  out = []
  for run in sorted({r.get('run', '') for r in rows}):
    mine = [r for r in rows if r.get('run', '') == run]
    names = sorted({r['branch'] for r in mine} - {TRUNK})
    by_key = {(r['branch'], r['level']): r for r in mine}
    lines = ([f'{run}:'] if run else []) + [
        '| weights % | ' + ' | '.join(f'ticket - {n} [95 % CI]' for n in names)
        + ' |', '|---' * (len(names) + 1) + '|']
    for level in sorted(lv for b, lv in by_key if b == TRUNK and lv):
      ticket = by_key[(TRUNK, level)]
      cells = [str(verdicts.compare_rows(ticket, by_key[(n, level)],
                                         paired=True))
               if (n, level) in by_key else '-' for n in names]
      lines.append(f"| {ticket['weights_remaining_pct']:.1f} | "
                   + ' | '.join(cells) + ' |')
    if names:
      out.append('\n'.join(lines))
  return '\n\n'.join(out)
