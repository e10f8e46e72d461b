r"""The error landscape of IMP: curvature, connectivity, how much to prune.

  export LTH_DATA_DIR=../shared/data
  python -m experiments.landscape \
      --config=configs/landscape_lenet300_mnist.py:preset=cpu \
      --trunk_workdir=results/landscape_trunks --workdir=results/landscape

Trains the trunks that are missing under ``--trunk_workdir`` (one per
per-level prune rate, its controls, the positive control, and one per
landscape rule, whose fractions ``lth_jax/studies/landscape/schedule.py``
chooses level by level); a finished trunk is only read. Measures every
level (``lth_jax/studies/landscape``) into
``<workdir>/<variant>_<run-hash>.json``, then writes ``cells.csv``,
``variants.csv``, ``rules.csv``, ``landscape.md`` and the figures to
``<workdir>/report/``.
"""
from absl import flags
from absl import logging
from ml_collections import config_flags

from experiments import cli
from lth_jax import provenance
from lth_jax.studies.landscape import report
from lth_jax.studies.landscape import runner
from lth_jax.studies.landscape import variants

_CONFIG = config_flags.DEFINE_config_file('config', lock_config=True)
_TRUNK = flags.DEFINE_string('trunk_workdir', None,
                             'Where the trunks are (or are trained).',
                             required=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for results.',
                               required=True)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
  config = _CONFIG.value
  rows = runner.run(config, _TRUNK.value, _WORKDIR.value,
                    log=lambda line: print(line, flush=True))
  out = report.write_report(
      rows, config.landscape.barrier_threshold, f'{_WORKDIR.value}/report',
      reference=variants.variant_name(config.landscape.control_rate))
  print(out['markdown'])
  print(f'report: {_WORKDIR.value}/report/')
  print(provenance.note(f'{_WORKDIR.value}/report', config))


if __name__ == '__main__':
  cli.run(main)
