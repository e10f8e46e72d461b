"""The transfer report: target accuracy vs. weights remaining for the
transferred ticket, the target's own ticket (its trunk) and the controls.
"""
import pathlib
from typing import Any

from lth_jax import errors
from lth_jax import lottery
from lth_jax.analysis import plots
from lth_jax.analysis import tables
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
  out = pathlib.Path(out_dir)
  out.mkdir(parents=True, exist_ok=True)
  rows = tables.aggregate(summaries)
  paths = {'csv': out / 'results.csv', 'accuracy_png': out / 'accuracy.png'}
  tables.write_csv(rows, paths['csv'])
  plots.plot_accuracy(rows, paths['accuracy_png'], title)
  return {'rows': rows, 'markdown': transfer_markdown(rows), **paths}


def _acc(row: dict[str, Any]) -> str:
  return (f"{row['early_stop_test_acc_mean']:.2f} "
          f"({row['early_stop_test_acc_min']:.2f}-"
          f"{row['early_stop_test_acc_max']:.2f})")


def verdict(transferred: float, own: float, random: float | None,
            tolerance: float = 0.3) -> str:
  """Where a transferred ticket lands, from mean test accuracies (%).

  ``'matches'`` within ``tolerance`` points of the target's own ticket (or
  above it), ``'random'`` at or below the random ticket plus ``tolerance``,
  else ``'between'``.

  >>> verdict(98.0, 98.2, 96.0), verdict(96.1, 98.2, 96.0)
  ('matches', 'random')
  >>> verdict(97.0, 98.2, 96.0), verdict(97.0, 98.2, None)
  ('between', 'below')
  """
  if transferred >= own - tolerance:
    return 'matches'
  if random is None:
    return 'below'
  return 'random' if transferred <= random + tolerance else 'between'


def level_cells(by: dict[tuple[str, int], dict[str, Any]], level: int,
                tolerance: float = 0.3) -> list[str]:
  """One transferred level's table cells: weights % (own / transferred),
  the four accuracies (mean and min-max), transferred - own, verdict.

  Args:
    by: aggregated rows keyed by ``(branch, level)``.
    level: a level the transferred ticket has run.
    tolerance: of ``verdict``.
  """
  names = [tables.TRUNK, LABELS['ticket'], LABELS['reinit'],
           LABELS['random']]
  cells = [by.get((n, level)) for n in names]
  own, ticket, _, random = cells
  weights = ' / '.join(f"{c['weights_remaining_pct']:.1f}" if c else '-'
                       for c in (own, ticket))
  diff, where = '-', 'no own ticket yet'
  if own is not None:
    gap = ticket['early_stop_test_acc_mean'] - own['early_stop_test_acc_mean']
    diff = f'{gap:+.2f}'
    where = verdict(ticket['early_stop_test_acc_mean'],
                    own['early_stop_test_acc_mean'],
                    random['early_stop_test_acc_mean'] if random else None,
                    tolerance)
  return [weights] + [_acc(c) if c else '-' for c in cells] + [diff, where]


COLUMNS = ('weights % (own / transferred)', 'own ticket',
           'transferred ticket', 'transferred mask, fresh init',
           'random ticket', 'transferred - own (pp)', 'verdict')


def by_level(rows: list[dict[str, Any]]) -> dict[tuple[str, int],
                                                   dict[str, Any]]:
  return {(r['branch'], r['level']): r for r in rows}


def transferred_levels(rows: list[dict[str, Any]]) -> list[int]:
  """The levels the transferred ticket has run, ascending."""
  return sorted({r['level'] for r in rows if r['branch'] == LABELS['ticket']})


def transfer_markdown(rows: list[dict[str, Any]],
                      tolerance: float = 0.3) -> str:
  """Per transferred level: the target's own ticket, the transferred ticket
  and the controls (mean and min-max test accuracy at early stop), the
  transferred ticket's difference to its own ticket and its verdict."""
  by = by_level(rows)
  lines = ['| level | ' + ' | '.join(COLUMNS) + ' |',
           '|' + '---|' * (len(COLUMNS) + 1)]
  for level in transferred_levels(rows):
    lines.append(f'| {level} | ' + ' | '.join(level_cells(by, level,
                                                          tolerance)) + ' |')
  return '\n'.join(lines)


def pairs_markdown(rows_by_pair: dict[str, list[dict[str, Any]]],
                   levels: list[int], tolerance: float = 0.3) -> str:
  """One line per (pair, level) of ``levels`` that the pair has run.

  >>> row = dict(replicates=2, early_stop_test_acc_min=0.,
  ...            early_stop_test_acc_max=0., weights_remaining_pct=3.6)
  >>> rows = [dict(row, branch=b, level=15, early_stop_test_acc_mean=a)
  ...         for b, a in (('trunk', 98.), ('transferred ticket', 97.9))]
  >>> print(pairs_markdown({'a_to_b': rows}, [15]).splitlines()[-1])
  | a_to_b | 15 | 3.6 / 3.6 | 98.00 (0.00-0.00) | 97.90 (0.00-0.00) | - | - | -0.10 | matches |
  """
  lines = ['| pair | level | ' + ' | '.join(COLUMNS) + ' |',
           '|' + '---|' * (len(COLUMNS) + 2)]
  for pair, rows in rows_by_pair.items():
    by = by_level(rows)
    for level in transferred_levels(rows):
      if level in levels:
        lines.append(f'| {pair} | {level} | ' + ' | '.join(
            level_cells(by, level, tolerance)) + ' |')
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
  run_dir = pathlib.Path(out_workdir) / target_hash
  summaries = transfer_summaries(
      pathlib.Path(workdir) / target_hash, run_dir, source_hash,
      config.transfer.head_mask, config.target.replicates)
  return write_transfer_report(
      summaries, out_dir or run_dir / f'transfer_{source_hash}_report',
      f'{config.pair}: target {config.target.data.name} '
      f'{config.target.training.optimizer} (trunk = its own ticket)')
