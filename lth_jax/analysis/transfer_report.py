"""The transfer report: target accuracy vs. weights remaining for the
transferred ticket, the target's own ticket (its trunk) and the controls.
"""
import pathlib
from typing import Any

from lth_jax.analysis import plots
from lth_jax.analysis import tables
from lth_jax.lottery import storage
from lth_jax.lottery import transfer

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


def write_transfer_report(summaries: list[dict[str, Any]],
                          out_dir: PathLike, title: str) -> dict[str, Any]:
  """Writes ``results.csv`` and ``accuracy.png`` (bands over replicates).

  Returns:
    ``{'rows': aggregated rows, 'markdown': ``transfer_markdown``, 'csv',
    'accuracy_png'}``.
  """
  if not summaries:
    raise ValueError('no finished levels to report: run the trunks and '
                     'the transfer first.')
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


def transfer_markdown(rows: list[dict[str, Any]],
                      tolerance: float = 0.3) -> str:
  """Per transferred level: the target's own ticket, the transferred ticket
  and the controls (mean and min-max test accuracy at early stop), the
  transferred ticket's difference to its own ticket and its verdict."""
  by = {(r['branch'], r['level']): r for r in rows}
  names = [tables.TRUNK, LABELS['ticket'], LABELS['reinit'],
           LABELS['random']]
  head = ('| level | weights % (own / transferred) | own ticket | '
          'transferred ticket | transferred mask, fresh init | '
          'random ticket | transferred - own (pp) | verdict |')
  lines = [head, '|' + '---|' * 8]
  for level in sorted(lvl for b, lvl in by if b == LABELS['ticket']):
    cells = [by.get((n, level)) for n in names]
    own, ticket, _, random = cells
    acc = [_acc(c) if c else '-' for c in cells]
    weights = ' / '.join(f"{c['weights_remaining_pct']:.1f}" if c else '-'
                         for c in (own, ticket))
    diff, where = '-', 'no own ticket yet'
    if own is not None:
      gap = (ticket['early_stop_test_acc_mean']
             - own['early_stop_test_acc_mean'])
      diff = f'{gap:+.2f}'
      where = verdict(ticket['early_stop_test_acc_mean'],
                      own['early_stop_test_acc_mean'],
                      random['early_stop_test_acc_mean'] if random else None,
                      tolerance)
    lines.append(f'| {level} | {weights} | ' + ' | '.join(acc)
                 + f' | {diff} | {where} |')
  return '\n'.join(lines)
