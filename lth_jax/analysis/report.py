"""Turns run directories into a CSV table and PNG figures.

A *run directory* is ``workdir/<run-hash>`` (it holds ``config.json``); a
*workdir* holds one or more of them. ``find_runs`` accepts either.
"""
import pathlib
from typing import Any, Sequence

from lth_jax.analysis import plots
from lth_jax.analysis import tables
from lth_jax.lottery import imp
from lth_jax.lottery import storage

PathLike = str | pathlib.Path


def find_runs(paths: Sequence[PathLike]) -> list[pathlib.Path]:
  """The run directories among ``paths`` and directly under them.

  Raises:
    FileNotFoundError: if a path does not exist or holds no run.
  """
  runs = []
  for p in map(pathlib.Path, paths):
    if not p.is_dir():
      raise FileNotFoundError(f'{p} is not a directory; pass a --workdir '
                              'of experiments.lottery or a run directory '
                              'under it.')
    found = ([p] if (p / 'config.json').exists() else
             sorted(d for d in p.iterdir() if (d / 'config.json').exists()))
    if not found:
      raise FileNotFoundError(
          f'no lottery run under {p}: a run directory holds config.json '
          '(workdir/<run-hash>/config.json).')
    runs += found
  return runs


def run_label(run_dir: PathLike) -> str:
  """``'<model> <run-hash>'`` from the run's ``config.json``."""
  run_dir = pathlib.Path(run_dir)
  config = storage.read_json(run_dir / 'config.json')
  return f"{config.get('model', '?')} {run_dir.name}"


def branches(run_dir: PathLike) -> list[str]:
  """The controls (branches) present in a run directory."""
  names = {p.name[len('branch_'):] for p in
           pathlib.Path(run_dir).glob('replicate_*/branch_*')}
  return sorted(names)


def run_summaries(run_dir: PathLike) -> list[dict[str, Any]]:
  """Trunk and branch summaries of one run."""
  rows = imp.collect(run_dir)
  for name in branches(run_dir):
    rows += imp.collect(run_dir, name)
  return rows


def write_report(run_dirs: Sequence[PathLike], out_dir: PathLike,
                 title: str = '') -> dict[str, Any]:
  """Writes ``results.csv``, ``accuracy.png`` and ``early_stop.png``.

  Args:
    run_dirs: run directories or workdirs (see ``find_runs``); with several
      runs, rows and curves are labelled ``'<model> <run-hash>'``.
    out_dir: where the files go (created).
    title: the figures' title.

  Returns:
    ``{'rows': aggregated rows, 'csv', 'accuracy_png', 'early_stop_png'}``.
  """
  runs = find_runs(run_dirs)
  summaries = []
  for run_dir in runs:
    label = run_label(run_dir) if len(runs) > 1 else ''
    summaries += [dict(s, run=label) for s in run_summaries(run_dir)]
  if not summaries:
    raise ValueError(f'no finished levels under {[str(r) for r in runs]}; '
                     'run the experiment first.')
  out = pathlib.Path(out_dir)
  out.mkdir(parents=True, exist_ok=True)
  rows = tables.aggregate(summaries)
  paths = {'csv': out / 'results.csv', 'accuracy_png': out / 'accuracy.png',
           'early_stop_png': out / 'early_stop.png'}
  tables.write_csv(rows, paths['csv'])
  plots.plot_accuracy(rows, paths['accuracy_png'], title)
  plots.plot_early_stop(rows, paths['early_stop_png'], title)
  return {'rows': rows, **paths}
