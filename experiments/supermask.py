r"""Untrained and learned supermasks on a finished lottery trunk.

  python -m experiments.supermask --workdir=results/lth_lenet \
      --config=configs/supermask_lenet300_mnist.py:preset=cpu

``--workdir`` is the trunk's; it is read, never written, except for the
results folder ``<workdir>/<trunk-hash>/supermask_<hash>/`` (CSV files and
``supermask.png``). Prints the summary tables.
"""
from absl import flags
from absl import logging
from ml_collections import config_flags

from experiments import cli
from lth_jax import provenance
from lth_jax.studies.supermasks import report as supermask_report
from lth_jax.studies.supermasks import runner as supermasks

_CONFIG = config_flags.DEFINE_config_file('config', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, "The trunk's --workdir.",
                               required=True)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
  result = supermasks.run(_CONFIG.value, _WORKDIR.value)
  print(supermask_report.to_markdown(result['summary']))
  print(f"results: {result['out_dir']}")
  print(provenance.note(result['out_dir'], _CONFIG.value))


if __name__ == '__main__':
  cli.run(main)
