"""Turns run directories into a CSV table and PNG figures.

A *run directory* is ``workdir/<run-hash>`` (it holds ``config.json``); a
*workdir* holds one or more of them; ``storage.find_runs`` accepts either
and is, with ``storage.run_summaries``, how runs are read.
"""
import pathlib
from typing import Any, Sequence

from lth_jax import errors
from lth_jax.analysis import metric_select
from lth_jax.analysis import plots
from lth_jax.analysis import tables
from lth_jax.runs import layout
from lth_jax.runs import storage

PathLike = str | pathlib.Path


def write_report(run_dirs: Sequence[PathLike], out_dir: PathLike,
                 title: str = '', metric: str = 'acc') -> dict[str, Any]:
  """Writes ``results.csv``, ``accuracy.png`` and ``early_stop.png``.

  Args:
    run_dirs: run directories or workdirs (see ``storage.find_runs``);
      with several runs, rows and curves are labelled
      ``'<model> <run-hash>'``.
    out_dir: where the files go (created).
    title: the figures' title.
    metric: the test metric at early stop the table and figures show:
      ``'acc'`` (the summaries' accuracy) or any key the run's evaluate
      logged, e.g. ``'micro_f1'`` (see ``metric_select``); the columns keep
      their ``*_test_acc`` names.

  Returns:
    ``{'rows': aggregated rows, 'csv', 'accuracy_png', 'early_stop_png'}``.
  """
  runs = storage.find_runs(run_dirs)
  summaries = []
  for run_dir in runs:
    label = storage.run_label(run_dir) if len(runs) > 1 else ''
    summaries += [dict(s, run=label) for s in metric_select.with_metric(
        run_dir, storage.run_summaries(run_dir), metric)]
  if not summaries:
    raise errors.InputError(
        f'no finished levels under {[str(r) for r in runs]}; '
        'run the experiment first.')
  out = layout.StudyDir(out_dir)
  out.path.mkdir(parents=True, exist_ok=True)
  rows = tables.aggregate(summaries)
  paths = {'csv': out.file('results.csv'),
           'accuracy_png': out.file('accuracy.png'),
           'early_stop_png': out.file('early_stop.png')}
  tables.write_csv(rows, paths['csv'])
  label = ('accuracy' if metric == 'acc'
           else metric.replace('_', '-').replace('f1', 'F1'))
  plots.plot_accuracy(rows, paths['accuracy_png'], title, label)
  plots.plot_early_stop(rows, paths['early_stop_png'], title)
  return {'rows': rows, **paths}
