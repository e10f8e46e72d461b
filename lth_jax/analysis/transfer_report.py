"""The transfer report: target accuracy vs. weights remaining for the
transferred ticket, the target's own ticket (its trunk) and the controls.
"""
import pathlib
from typing import Any

from lth_jax.analysis import plots
from lth_jax.analysis import tables
from lth_jax.lottery import imp
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
  rows = [dict(s, branch=tables.TRUNK) for s in imp.collect(target_trunk)]
  for variant, label in LABELS.items():
    name = transfer.branch_name(source_hash, variant, head_mask)
    rows += [dict(s, branch=label) for s in imp.collect(transfer_run, name)]
  return [r for r in rows if replicates is None
          or r['replicate'] < replicates]


def write_transfer_report(summaries: list[dict[str, Any]],
                          out_dir: PathLike, title: str) -> dict[str, Any]:
  """Writes ``results.csv`` and ``accuracy.png`` (bands over replicates).

  Returns:
    ``{'rows': aggregated rows, 'markdown': comparison table, 'csv',
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
  return {'rows': rows, 'markdown': tables.comparison_markdown(rows),
          **paths}
