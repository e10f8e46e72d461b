r"""Runs (or resumes) the sparse-training comparison, then its report.

  export LTH_DATA_DIR=../shared/data
  python -m experiments.sparse_comparison --workdir=results/sparse_lenet \
      --config=configs/sparse_comparison_lenet300_mnist.py:preset=cpu

Results, under ``<workdir>/<trunk-hash>/sparse_comparison/``: one
``<group>.jsonl`` per group of methods (a record per method, density and
replicate), ``table.md``, ``table.csv``, ``accuracy_vs_density.png`` and
``accuracy_vs_flops.png``. The IMP trunk's levels are the lottery run's
(``--workdir`` may hold a finished trunk of the same config).
"""
import pathlib

from absl import flags
from absl import logging
from ml_collections import config_flags

from experiments import cli
from lth_jax import provenance
from lth_jax.studies.sparse_comparison import report
from lth_jax.studies.sparse_comparison import runner

_CONFIG = config_flags.DEFINE_config_file('config', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for results.',
                               required=True)
_REPORT_ONLY = flags.DEFINE_bool('report_only', False,
                                 'Only write the report of finished work.')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
  config = _CONFIG.value
  if not _REPORT_ONLY.value:
    runner.run(config, _WORKDIR.value)
  out = report.write_report(config, _WORKDIR.value)
  print(out['markdown'])
  print('\n'.join(f'{k}: {v}' for k, v in out['files'].items()))
  print(provenance.note(pathlib.Path(out['files']['table']).parent, config))


if __name__ == '__main__':
  cli.run(main)
