r"""Runs (or resumes) a control branch of a finished lottery run, then reports.

  python -m experiments.branch --branch=random_reinit \
      --config=configs/lenet300_mnist.py:preset=cpu --workdir=results/lenet

Pass the trunk's ``--config`` and ``--workdir`` (the run hash must match).
Branches: random_reinit, same_sign_reinit, random_prune_layer,
random_prune_global. The report (``results.csv``, ``accuracy.png``,
``early_stop.png`` in ``<workdir>/<run-hash>/``) shows the trunk against
every branch run so far.
"""
from absl import flags
from absl import logging
from ml_collections import config_flags

from experiments import cli
from lth_jax import provenance
from lth_jax import lottery
import lth_jax.studies  # registers the studies' branches (pruning at init)

_CONFIG = config_flags.DEFINE_config_file('config', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, "The trunk's --workdir.",
                               required=True)
_BRANCH = flags.DEFINE_string('branch', None, 'The control to run.',
                              required=True)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
  config = _CONFIG.value
  lottery.run_branch(config, _WORKDIR.value, _BRANCH.value)
  cli.print_report(config, _WORKDIR.value)
  print(provenance.note(f'{_WORKDIR.value}/{lottery.run_hash(config)}',
                        config))


if __name__ == '__main__':
  cli.run(main)
