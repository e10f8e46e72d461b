"""The transfer report: target accuracy vs. weights remaining for the
transferred ticket, the target's own ticket (its trunk) and the controls.
"""
import pathlib
from typing import Any

from lth_jax import errors
from lth_jax import lottery
from lth_jax.analysis import plots
from lth_jax.analysis import tables
from lth_jax.analysis import verdicts
from lth_jax.runs import layout
from lth_jax.runs import storage
from lth_jax.studies.transfer import runner as transfer

PathLike = str | pathlib.Path

#: Curve labels of the transfer variants (the target trunk stays 'trunk').
LABELS = {'ticket': 'transferred ticket',
          'reinit': 'transferred mask, fresh init',
          'random': 'random ticket'}


def transfer_summaries(target_trunk: PathLike, transfer_run: PathLike,
                       source_hash: str, head_mask: str = 'dense',
                       replicates: int | None = None
                       ) -> list[dict[str, Any]]:
  """Level summaries of the target trunk and of every transfer variant.

  Args:
    target_trunk: the target trunk's run directory (its own ticket).
    transfer_run: the run directory holding the transfer branches.
    source_hash: the source run's hash (names the branches).
    head_mask: as in the transfer spec.
    replicates: keep only replicates below this (default: all).

  Returns:
    Summaries with ``branch`` set to ``'trunk'`` or a ``LABELS`` value.
  """
  rows = [dict(s, branch=tables.TRUNK) for s in storage.collect(target_trunk)]
  for variant, label in LABELS.items():
    name = transfer.branch_name(source_hash, variant, head_mask)
    rows += [dict(s, branch=label) for s in storage.collect(transfer_run, name)]
  return [r for r in rows if replicates is None
          or r['replicate'] < replicates]


class NothingFinished(errors.MissingInputError):
  """No level of a transfer (nor of its target trunk) has finished yet."""


def write_transfer_report(summaries: list[dict[str, Any]],
                          out_dir: PathLike, title: str) -> dict[str, Any]:
  """Writes ``results.csv`` and ``accuracy.png`` (bands over replicates).

  Returns:
    ``{'rows': aggregated rows, 'markdown': ``transfer_markdown``, 'csv',
    'accuracy_png'}``.
  """
  if not summaries:
    raise NothingFinished('no finished levels to report: run the trunks '
                          'and the transfer first.')
  out = layout.StudyDir(out_dir)
  out.path.mkdir(parents=True, exist_ok=True)
  rows = tables.aggregate(summaries)
  paths = {'csv': out.file('results.csv'),
           'accuracy_png': out.file('accuracy.png')}
  tables.write_csv(rows, paths['csv'])
  plots.plot_accuracy(rows, paths['accuracy_png'], title)
  return {'rows': rows, 'markdown': transfer_markdown(rows), **paths}


def _acc(row: dict[str, Any]) -> str:
  return (f"{row['early_stop_test_acc_mean']:.2f} "
          f"({row['early_stop_test_acc_min']:.2f}-"
          f"{row['early_stop_test_acc_max']:.2f})")


def verdict(transferred: dict[str, Any], own: dict[str, Any],
            random: dict[str, Any] | None) -> str:
  """Where a transferred ticket lands, from aggregated rows (per-replicate
  test accuracies at early stop; ``verdicts.compare``, Welch, 95 %).

  ``'matches'``: not worse than the target's own ticket and better than the
  random ticket; ``'indistinguishable'``: within noise of both (the arms
  cannot be told apart); ``'random'``: worse than its own ticket and not
  better than the random ticket; ``'between'``: worse than its own, better
  than random; ``'below'`` / ``'not below'`` without a random ticket;
  ``'insufficient replicates'`` with fewer than 3 in an arm.

  >>> row = lambda *v: {'early_stop_test_acc_values': list(v)}
  >>> own, rnd = row(98.0, 98.2, 98.1), row(96.0, 96.1, 96.2)
  >>> verdict(row(98.1, 97.9, 98.0), own, rnd)
  'matches'
  >>> verdict(row(96.1, 96.0, 96.2), own, rnd)
  'random'
  >>> verdict(row(97.9, 98.3, 96.5), own, row(97.0, 98.4, 96.4))
  'indistinguishable'
  >>> verdict(row(98.1, 98.0), own, rnd)
  'insufficient replicates'
  """
  to_own = verdicts.compare_rows(transferred, own)
  if to_own.verdict == verdicts.INSUFFICIENT:
    return verdicts.INSUFFICIENT
  below_own = to_own.verdict == verdicts.WORSE
  if random is None:
    return 'below' if below_own else 'not below'
  to_random = verdicts.compare_rows(transferred, random)
  if to_random.verdict == verdicts.INSUFFICIENT:
    return verdicts.INSUFFICIENT
  above_random = to_random.verdict == verdicts.BETTER
  if below_own:
    return 'between' if above_random else 'random'
  return 'matches' if above_random else verdicts.INDISTINGUISHABLE


def level_cells(by: dict[tuple[str, int], dict[str, Any]],
                level: int) -> list[str]:
  """One transferred level's table cells: weights % (own / transferred),
  the four accuracies (mean and min-max), transferred - own with its 95 %
  interval, verdict.

  Args:
    by: aggregated rows keyed by ``(branch, level)``.
    level: a level the transferred ticket has run.
  """
  names = [tables.TRUNK, LABELS['ticket'], LABELS['reinit'],
           LABELS['random']]
  cells = [by.get((n, level)) for n in names]
  own, ticket, _, random = cells
  weights = ' / '.join(f"{c['weights_remaining_pct']:.1f}" if c else '-'
                       for c in (own, ticket))
  diff, where = '-', 'no own ticket yet'
  if own is not None:
    gap = verdicts.compare_rows(ticket, own)
    diff = (f'{gap.diff:+.2f}' if gap.verdict == verdicts.INSUFFICIENT
            else f'{gap.diff:+.2f} [{gap.low:+.2f}, {gap.high:+.2f}]')
    where = verdict(ticket, own, random)
  return [weights] + [_acc(c) if c else '-' for c in cells] + [diff, where]


COLUMNS = ('weights % (own / transferred)', 'own ticket',
           'transferred ticket', 'transferred mask, fresh init',
           'random ticket', 'transferred - own (pp) [95 % CI]', 'verdict')


def by_level(rows: list[dict[str, Any]]) -> dict[tuple[str, int],
                                                   dict[str, Any]]:
  return {(r['branch'], r['level']): r for r in rows}


def transferred_levels(rows: list[dict[str, Any]]) -> list[int]:
  """The levels the transferred ticket has run, ascending."""
  return sorted({r['level'] for r in rows if r['branch'] == LABELS['ticket']})


def transfer_markdown(rows: list[dict[str, Any]]) -> str:
  """Per transferred level: the target's own ticket, the transferred ticket
  and the controls (mean and min-max test accuracy at early stop), the
  transferred ticket's difference to its own ticket and its verdict."""
  by = by_level(rows)
  lines = ['| level | ' + ' | '.join(COLUMNS) + ' |',
           '|' + '---|' * (len(COLUMNS) + 1)]
  for level in transferred_levels(rows):
    lines.append(f'| {level} | ' + ' | '.join(level_cells(by, level))
                 + ' |')
  return '\n'.join(lines)


def pairs_markdown(rows_by_pair: dict[str, list[dict[str, Any]]],
                   levels: list[int]) -> str:
  """One line per (pair, level) of ``levels`` that the pair has run.

  >>> row = dict(replicates=3, early_stop_test_acc_min=0.,
  ...            early_stop_test_acc_max=0., weights_remaining_pct=3.6)
  >>> rows = [dict(row, branch=b, level=15, early_stop_test_acc_mean=a,
  ...              early_stop_test_acc_values=[a - .1, a, a + .1])
  ...         for b, a in (('trunk', 98.), ('transferred ticket', 97.9))]
  >>> print(pairs_markdown({'a_to_b': rows}, [15]).splitlines()[-1])
  | a_to_b | 15 | 3.6 / 3.6 | 98.00 (0.00-0.00) | 97.90 (0.00-0.00) | - | - | -0.10 [-0.33, +0.13] | not below |
  """
  lines = ['| pair | level | ' + ' | '.join(COLUMNS) + ' |',
           '|' + '---|' * (len(COLUMNS) + 2)]
  for pair, rows in rows_by_pair.items():
    by = by_level(rows)
    for level in transferred_levels(rows):
      if level in levels:
        lines.append(f'| {pair} | {level} | ' + ' | '.join(
            level_cells(by, level)) + ' |')
  return '\n'.join(lines)


def pair_report(config: Any, workdir: PathLike, out_workdir: PathLike,
                out_dir: PathLike | None = None) -> dict[str, Any]:
  """The report of one transfer config (``write_transfer_report``'s dict).

  Args:
    config: a transfer config (``configs/transfer_*.py:pair=...``).
    workdir: holds both trunks (the target's is its own ticket).
    out_workdir: holds the transfer branches (``--target_workdir``).
    out_dir: where the report goes (default: in the target run).
  """
  source_hash = lottery.run_hash(config.source)
  target_hash = lottery.run_hash(config.target)
  run_dir = layout.RunLayout.of(out_workdir, target_hash)
  summaries = transfer_summaries(
      layout.RunLayout.of(workdir, target_hash).run_dir, run_dir.run_dir,
      source_hash,
      config.transfer.head_mask, config.target.replicates)
  return write_transfer_report(
      summaries, out_dir or run_dir.transfer_report(source_hash).path,
      f'{config.pair}: target {config.target.data.name} '
      f'{config.target.training.optimizer} (trunk = its own ticket)')
