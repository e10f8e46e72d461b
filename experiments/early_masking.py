r"""Early masking on a lottery trunk: run (or resume) it, then report.

  export LTH_DATA_DIR=../shared/data
  python -m experiments.early_masking --workdir=results/lth_lenet \
      --config=configs/early_masking_lenet300_mnist.py:preset=lth,lr=1.2e-3,replicates=3,mode=oneshot

``--workdir`` is the trunk's workdir (copy a shared trunk there first: it is
written into). Results, under ``<workdir>/<trunk-hash>/early_masking/``:
``<mode>.csv`` (one row per target and timing point), ``<mode>_estimate.csv``
(predicted vs measured emergence per replicate), ``<mode>_accuracy.png``
and ``<mode>_distance_level_<L>.png``.
"""
from absl import flags
from absl import logging
from ml_collections import config_flags

from experiments import cli
from lth_jax import provenance
from lth_jax.studies.early_masking import report as early_masking_report
from lth_jax.studies import early_masking

_CONFIG = config_flags.DEFINE_config_file('config', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, "The trunk's --workdir.",
                               required=True)
_REPORT_ONLY = flags.DEFINE_bool('report_only', False,
                                 'Only write the report of finished work.')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
  config = _CONFIG.value
  if not _REPORT_ONLY.value:
    early_masking.run(config, _WORKDIR.value)
  out = early_masking_report.write_report(config, _WORKDIR.value)
  print(out['markdown'])
  print('\n'.join(f'{k}: {v}' for k, v in out['files'].items()))
  print(provenance.note(out['files']['csv'].parent, config))


if __name__ == '__main__':
  cli.run(main)
