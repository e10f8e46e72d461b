"""Turns run directories into a CSV table and PNG figures."""
import pathlib
from typing import Any, Sequence

from lth_jax.analysis import plots
from lth_jax.analysis import tables
from lth_jax.lottery import imp


def branches(run_dir: str | pathlib.Path) -> list[str]:
  """The controls (branches) present in a run directory."""
  names = {p.name[len('branch_'):] for p in
           pathlib.Path(run_dir).glob('replicate_*/branch_*')}
  return sorted(names)


def run_summaries(run_dir: str | pathlib.Path) -> list[dict[str, Any]]:
  """Trunk and branch summaries of one run."""
  rows = imp.collect(run_dir)
  for name in branches(run_dir):
    rows += imp.collect(run_dir, name)
  return rows


def write_report(run_dirs: Sequence[str | pathlib.Path],
                 out_dir: str | pathlib.Path, title: str = ''
                 ) -> dict[str, Any]:
  """Writes ``results.csv``, ``accuracy.png`` and ``early_stop.png``.

  Returns:
    ``{'rows': aggregated rows, 'csv', 'accuracy_png', 'early_stop_png'}``.
  """
  out = pathlib.Path(out_dir)
  out.mkdir(parents=True, exist_ok=True)
  summaries = []
  for d in run_dirs:
    summaries += run_summaries(d)
  if not summaries:
    raise ValueError(f'no finished levels under {list(map(str, run_dirs))}; '
                     'pass run directories (workdir/<run-hash>).')
  rows = tables.aggregate(summaries)
  paths = {'csv': out / 'results.csv', 'accuracy_png': out / 'accuracy.png',
           'early_stop_png': out / 'early_stop.png'}
  tables.write_csv(rows, paths['csv'])
  plots.plot_accuracy(rows, paths['accuracy_png'], title)
  plots.plot_early_stop(rows, paths['early_stop_png'], title)
  return {'rows': rows, **paths}
