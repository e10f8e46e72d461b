"""Verdict tables of an IMP trunk and its controls, and of the baseline.

Per pruning level and arm (the ticket, i.e. the trunk, and each control
branch): the test metric at early stop over replicates, mean (min-max);
whether the arm wins by Frankle & Carbin's definition against the dense
level 0 of the same run (``verdicts.winning_ticket``: not below dense, in
at most its iterations); and, for a control, ticket - control with its 95 %
interval (``verdicts.compare``, paired: replicate i of a branch shares the
trunk's seeds).
"""
import pathlib
from typing import Any, Sequence

from lth_jax import errors
from lth_jax.analysis import metric_select
from lth_jax.analysis import tables
from lth_jax.analysis import verdicts
from lth_jax.runs import storage

TRUNK = tables.TRUNK
_ACC = 'early_stop_test_acc'
_STOP = 'early_stop_step'


def metric_rows(run_dir: str | pathlib.Path, metric: str
                ) -> list[dict[str, Any]]:
  """The run's aggregated rows (``tables.aggregate``) with ``metric`` (x
  100) in the accuracy columns."""
  summaries = metric_select.with_metric(
      run_dir, storage.run_summaries(run_dir), metric)
  if not summaries:
    raise errors.MissingInputError(
        f'no finished levels under {run_dir}; run experiments.lottery '
        '(and experiments.branch) with the same config first.')
  return tables.aggregate(summaries)


def _cell(row: dict[str, Any]) -> str:
  return (f"{row[_ACC + '_mean']:.2f} ({row[_ACC + '_min']:.2f}-"
          f"{row[_ACC + '_max']:.2f})")


def _paired(a: dict[str, Any], b: dict[str, Any]) -> bool:
  return a['replicate_ids'] == b['replicate_ids']


def verdict_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
  """One record per (level, arm): the arm's row, its winning-ticket test
  against dense and (controls) its comparison with the ticket.

  Raises:
    MissingInputError: the trunk has no dense level 0.
  """
  by_key = {(r['branch'], r['level']): r for r in rows}
  if (TRUNK, 0) not in by_key:
    raise errors.MissingInputError(
        'the trunk has no finished level 0 (the dense network): run '
        'experiments.lottery first.')
  dense = by_key[(TRUNK, 0)]
  arms = [TRUNK] + sorted({r['branch'] for r in rows} - {TRUNK})
  out = [{'arm': TRUNK, 'row': dense, 'win': None, 'vs_ticket': None}]
  for level in sorted(lv for b, lv in by_key if b == TRUNK and lv):
    ticket = by_key[(TRUNK, level)]
    for arm in arms:
      row = by_key.get((arm, level))
      if row is None:
        continue
      win = verdicts.winning_ticket(
          row[_ACC + '_values'], dense[_ACC + '_values'],
          row[_STOP + '_values'], dense[_STOP + '_values'],
          paired=_paired(row, dense))
      vs = (None if arm == TRUNK else verdicts.compare(
          ticket[_ACC + '_values'], row[_ACC + '_values'],
          paired=_paired(ticket, row)))
      out.append({'arm': arm, 'row': row, 'win': win, 'vs_ticket': vs})
  return out


def verdict_markdown(records: Sequence[dict[str, Any]], metric: str) -> str:
  """``verdict_rows`` as a markdown table.

  >>> row = dict(run='', branch='trunk', level=0, replicate_ids=[0, 1, 2],
  ...            weights_remaining_pct=100., replicates=3,
  ...            early_stop_test_acc_values=[70., 71., 72.],
  ...            early_stop_step_values=[400., 400., 400.],
  ...            early_stop_test_acc_mean=71., early_stop_test_acc_min=70.,
  ...            early_stop_test_acc_max=72., early_stop_step_mean=400.)
  >>> low = dict(row, level=1, weights_remaining_pct=40.,
  ...            early_stop_test_acc_values=[60., 61.5, 62.],
  ...            early_stop_test_acc_mean=61.17, early_stop_test_acc_min=60.,
  ...            early_stop_test_acc_max=62.)
  >>> ctl = dict(low, branch='random_prune_layer')
  >>> print(verdict_markdown(verdict_rows([row, low, ctl]), 'acc'))
  | weights % | arm | test acc @ early stop (min-max) | stop | arm - dense [95 % CI] | winning ticket (vs dense) | ticket - arm [95 % CI] |
  |---|---|---|---|---|---|---|
  | 100.0 | dense | 71.00 (70.00-72.00) | 400 | - | - | - |
  | 40.0 | ticket | 61.17 (60.00-62.00) | 400 | -9.83 [-10.55, -9.12] (worse) | does not win | - |
  | 40.0 | random_prune_layer | 61.17 (60.00-62.00) | 400 | -9.83 [-10.55, -9.12] (worse) | does not win | +0.00 [+0.00, +0.00] (indistinguishable) |
  """
  name = 'acc' if metric == 'acc' else metric.replace('f1', 'F1')
  lines = [f'| weights % | arm | test {name} @ early stop (min-max) | stop '
           '| arm - dense [95 % CI] | winning ticket (vs dense) '
           '| ticket - arm [95 % CI] |', '|---|---|---|---|---|---|---|']
  for rec in records:
    row, win, vs = rec['row'], rec['win'], rec['vs_ticket']
    arm = ('dense' if row['level'] == 0 else
           'ticket' if rec['arm'] == TRUNK else rec['arm'])
    lines.append(
        f"| {row['weights_remaining_pct']:.1f} | {arm} | {_cell(row)} "
        f"| {row[_STOP + '_mean']:.0f} "
        f"| {win.accuracy if win else '-'} "
        f"| {str(win).split(':')[0] if win else '-'} "
        f"| {vs if vs else '-'} |")
  return '\n'.join(lines)


def baseline_markdown(records: Sequence[dict[str, Any]]) -> str:
  """The linear baselines (``baseline.run``'s records) as a table.

  >>> print(baseline_markdown([{'input': 'full_text', 'classifier': 'svc',
  ...     'C': 1.0, 'test': {'micro_f1': .85, 'macro_f1': .43}}]))
  | input | classifier | C (on validation) | test acc | test micro-F1 | test macro-F1 |
  |---|---|---|---|---|---|
  | full_text | svc | 1 | - | 85.00 | 43.00 |
  """
  def pct(value):
    return '-' if value is None else f'{100 * value:.2f}'
  lines = ['| input | classifier | C (on validation) | test acc '
           '| test micro-F1 | test macro-F1 |', '|---|---|---|---|---|---|']
  for r in records:
    t = r['test']
    lines.append(f"| {r['input']} | {r['classifier']} | {r['C']:g} "
                 f"| {pct(t.get('acc'))} | {pct(t['micro_f1'])} "
                 f"| {pct(t['macro_f1'])} |")
  return '\n'.join(lines)
