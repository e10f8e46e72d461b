r"""Checks GraSP's sign against its own objective: gradient flow at init.

  python -m experiments.grasp_flow \
      --config=configs/lenet300_mnist.py:preset=lth,replicates=3 \
      --densities=0.9,0.513,0.211,0.036 --out=results/grasp_flow

For each replicate's initial weights (the trunk's, from the config seeds)
masks keep the same global count by GraSP, inverted GraSP, |GraSP|, GraSP
shuffled within layers and random scores
(``lth_jax.studies.init_pruning.gradient_flow``); prints the gradient flow
``g^T g`` each leaves, relative to the dense network's, at GraSP's
temperature (200) and at 1, and each arm's per-layer kept %. Trains
nothing; writes ``grasp_flow.json`` and ``provenance.json`` to ``--out``.
"""
from absl import flags
from absl import logging
from ml_collections import config_flags

from experiments import cli
from lth_jax import errors
from lth_jax import files
from lth_jax import provenance
from lth_jax.lottery.experiment import Experiment
from lth_jax.studies.init_pruning import gradient_flow

_CONFIG = config_flags.DEFINE_config_file('config', lock_config=True)
_DENSITIES = flags.DEFINE_list('densities', ['0.9', '0.513', '0.211',
                                             '0.036'],
                               'Shares of the prunable weights kept.')
_OUT = flags.DEFINE_string('out', None, 'Output folder.', required=True)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  config = _CONFIG.value
  densities = [float(d) for d in _DENSITIES.value]
  if not all(0 < d < 1 for d in densities):
    raise errors.ConfigError(f'--densities must lie in (0, 1): got '
                             f'{_DENSITIES.value}.')
  exp = Experiment.setup(config, _OUT.value)
  rows = gradient_flow.measure(exp, range(config.replicates), densities)
  files.write_json(f'{_OUT.value}/grasp_flow.json', rows)
  for key, name in (('flow_t200', 'temperature 200 (GraSP)'),
                    ('flow_t1', 'temperature 1')):
    print(f'\nGradient flow after pruning / dense, {name}:\n')
    print(gradient_flow.to_markdown(rows, key))
  print('\nPer-layer kept %, replicate 0:\n')
  print(gradient_flow.layers_markdown(rows))
  print(provenance.note(_OUT.value, {'config': config.to_dict(),
                                     'densities': densities}))


if __name__ == '__main__':
  cli.run(main)
