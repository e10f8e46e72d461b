r"""Runs pruning-at-init branches and sanity checks at chosen trunk levels.

  python -m experiments.init_pruning \
      --config=configs/lenet300_mnist.py:preset=lth,replicates=3 \
      --workdir=results/lth_lenet --levels=3,6,9,12,15 \
      --branches=snip,grasp,grasp_abs,synflow,magnitude_init

Pass the trunk's ``--config`` and ``--workdir`` (the run hash must match).
Branches (``lth_jax.studies.init_pruning.runner``): ``magnitude_init``, ``snip``,
``grasp``, ``grasp_abs``, ``synflow`` (global counts), ``<method>_layer``
(per-layer counts), and the sanity checks ``<method>_shuffled``,
``<method>_reinit``, ``<method>_inverted``, ``imp_shuffled``,
``imp_reinit``. Any registered branch (e.g. ``random_prune_global``) can be
listed. Levels run in the order given; finished ones are skipped.
"""
from absl import flags
from absl import logging
from ml_collections import config_flags

from experiments import cli
from lth_jax import lottery
from lth_jax import provenance
from lth_jax.studies.init_pruning import runner as init_pruning

_CONFIG = config_flags.DEFINE_config_file('config', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, "The trunk's --workdir.",
                               required=True)
_BRANCHES = flags.DEFINE_list('branches', None, 'Branches to run, in order.',
                              required=True)
_LEVELS = flags.DEFINE_string('levels', '', 'Trunk levels, e.g. 3,6,9 '
                              '(default: every level).')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
  config = _CONFIG.value
  init_pruning.run_branches(config, _WORKDIR.value, _BRANCHES.value,
                            _LEVELS.value)
  cli.print_report(config, _WORKDIR.value)
  print(provenance.note(f'{_WORKDIR.value}/{lottery.run_hash(config)}',
                        config))


if __name__ == '__main__':
  cli.run(main)
