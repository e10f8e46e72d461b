r"""IMP on a two-task data set, then the structure of every level's ticket.

  python -m experiments.structure --workdir=results/structure_moons \
      --config=configs/structure_moons.py:preset=cpu,width=57,replicates=5
  LTH_DATA_DIR=../shared/data python -m experiments.structure \
      --workdir=results/structure_mnist \
      --config=configs/structure_mnist_fashion.py:preset=cpu,replicates=3

Prints the per-level table (means over replicates) and each replicate's
outcome; writes ``<workdir>/<run-hash>/structure/`` (levels.csv,
levels.json, replicates.json, active_vs_remaining.png, relevance_r*.png,
subnetworks_r*.png). ``--coverage`` overrides the state rule.
"""
from absl import flags
from absl import logging
from ml_collections import config_flags

from experiments import cli
from lth_jax import provenance
from lth_jax.studies.structure import runner as structure_study
from lth_jax.data import two_task

_CONFIG = config_flags.DEFINE_config_file('config', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for results.',
                               required=True)
_COVERAGE = flags.DEFINE_enum('coverage', None, ['inputs_outputs', 'outputs'],
                              'State rule (default: the data set\'s).')
_FIGURES = flags.DEFINE_bool('figures', True, 'Write the PNGs.')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  config = _CONFIG.value
  result = structure_study.study(config, _WORKDIR.value, _COVERAGE.value,
                                 _FIGURES.value)
  tasks = [t[0] for t in two_task.tasks(config.data.name)]
  print(structure_study.level_table(result['rows'], tasks))
  print()
  print(structure_study.outcome_table(result['replicates'], tasks))
  print(f'\nwritten to {result["dir"]}')
  print(provenance.note(result['dir'], config))


if __name__ == '__main__':
  cli.run(main)
