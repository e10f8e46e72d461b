r"""Instability analysis on a finished lottery trunk, then its report.

  export LTH_DATA_DIR=../shared/data
  python -m experiments.connectivity \
      --config=configs/connectivity_lenet300_mnist.py:preset=cpu \
      --trunk_workdir=results/lth_lenet --workdir=results/connectivity

The trunk (``<trunk_workdir>/<run-hash>/``) is only read. Results go to
``<workdir>/<run-hash>/`` (layout: ``lth_jax/studies/connectivity/sweep.py``):
rewind points, the copies, one ``path.json`` per pair, and at the end
``paths.csv``, ``instability.csv``, ``stability.csv``, ``path_error.png``
and ``instability.png``. A killed run resumes where it stopped.
"""
from absl import flags
from absl import logging
from ml_collections import config_flags

from experiments import cli
from lth_jax import provenance
from lth_jax.studies.connectivity import report as instability_report
from lth_jax.studies.connectivity import sweep as instability_sweep

_CONFIG = config_flags.DEFINE_config_file('config', lock_config=True)
_TRUNK = flags.DEFINE_string('trunk_workdir', None,
                             "The trunk's --workdir (read only).",
                             required=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for results.',
                               required=True)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
  config = _CONFIG.value
  paths = instability_sweep.run(config, _TRUNK.value, _WORKDIR.value,
                                log=lambda line: print(line, flush=True))
  out_dir = instability_sweep.output_dir(config, _WORKDIR.value)
  report = instability_report.write_report(
      paths, config.connectivity.threshold, out_dir)
  print(instability_report.to_markdown(report['rows'], report['stability'],
                                       config.connectivity.threshold))
  print(f"\ntables: {report['instability_csv']}\nplots:  "
        f"{report['path_error_png']}, {report['instability_png']}")
  print(provenance.note(out_dir, config))


if __name__ == '__main__':
  cli.run(main)
