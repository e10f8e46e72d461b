r"""Turns lottery runs into a CSV table and PNG figures in the papers' style.

  python -m experiments.report --workdirs=results/lth_lenet \
      --out=results/lth_lenet/report

Each of ``--workdirs`` is a ``--workdir`` of experiments.lottery (every run
under it) or one run directory ``<workdir>/<run-hash>``. Writes
``results.csv``, ``accuracy.png`` (test accuracy at early stop vs. percent
of weights remaining, mean and min/max band over replicates, the trunk
against each control) and ``early_stop.png`` (early-stop iteration), and
prints the comparison table.
"""
from absl import flags
from absl import logging

from experiments import cli
from lth_jax import provenance
from lth_jax.analysis import report as report_lib
from lth_jax.analysis import tables
from lth_jax.runs import storage

_WORKDIRS = flags.DEFINE_list('workdirs', None, 'Workdirs or run dirs.',
                              required=True)
_OUT = flags.DEFINE_string('out', None, 'Output directory (default: the '
                           'first run directory).')
_METRIC = flags.DEFINE_string(
    'metric', 'acc', "Test metric at early stop: 'acc', or a key the runs "
    "logged (multi-label runs: 'micro_f1', 'macro_f1', ...).")
_TITLE = flags.DEFINE_string('title', None, 'Figure title (default: the '
                             "runs' models).")


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  runs = storage.find_runs(_WORKDIRS.value)
  title = _TITLE.value
  if title is None:
    title = ', '.join(sorted({storage.run_label(r).split()[0]
                              for r in runs}))
  report = report_lib.write_report(runs, _OUT.value or runs[0], title,
                                   _METRIC.value)
  print(tables.comparison_markdown(report['rows']))
  print('\nWinning tickets (Frankle & Carbin: not below dense, in at most '
        "its iterations):\n")
  print(tables.winning_markdown(report['rows']))
  controls = tables.controls_verdict_markdown(report['rows'])
  if controls:
    print('\nThe ticket against its controls (paired over replicates):\n')
    print(controls)
  print(f"\ntable: {report['csv']}\nplots: {report['accuracy_png']}, "
        f"{report['early_stop_png']}")
  print(provenance.note(_OUT.value or runs[0], {'runs': [str(r) for r in runs],
                                               'metric': _METRIC.value}))


if __name__ == '__main__':
  cli.run(main)
