r"""LeNet-300-100 on MNIST (Frankle & Carbin 2019, Figure 3).

Paper preset: Adam 1.2e-3, batch 60, 50,000 iterations per level, hidden
layers pruned 20 % and the output layer 10 % per level, validation every 100
iterations, rewinding to initialisation.

  python -m experiments.lottery --config=configs/lenet300_mnist.py \
      --workdir=/tmp/lth

The ``cpu`` preset (5,000 iterations per level, validation every 250, 8
levels down to 16.8 % of the hidden weights) finishes in minutes on 2 cores:

  python -m experiments.lottery \
      --config=configs/lenet300_mnist.py:preset=cpu --workdir=/tmp/lth

The ``lth`` preset reproduces the paper's shape on 2 CPU cores in about an
hour with 3 replicates (5,000 iterations per level, validation every 250, 15
levels down to 3.5 % of the hidden weights), then its controls and report:

  export LTH_DATA_DIR=../shared/data
  python -m experiments.lottery --workdir=results/lth_lenet \
      --config=configs/lenet300_mnist.py:preset=lth,replicates=3
  python -m experiments.branch --workdir=results/lth_lenet \
      --config=configs/lenet300_mnist.py:preset=lth,replicates=3 \
      --branch=random_reinit

The ``test`` preset (20 iterations, 2 levels) only checks the plumbing.

Options (comma-separated): ``preset=paper|cpu|lth|test``, ``replicates=N``,
``levels=L``, ``seed=S``.
"""
import ml_collections

from configs import options as options_lib
from lth_jax.lottery import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The LeNet-300-100 / MNIST config; ``arg`` holds the options."""
  options = options_lib.parse_options(arg)
  preset = options.pop('preset', 'paper')
  config = config_lib.default_config()
  config.model = 'lenet300_100'
  config.data.name = 'mnist'
  config.training.optimizer = 'adam'
  config.training.learning_rate = 1.2e-3
  config.training.batch_size = 60
  config.training.steps = '50000it'
  config.training.eval_every = '100it'
  config.pruning.strategy = 'layerwise'
  config.pruning.rate = 0.2
  config.pruning.layer_rates = 'output/=0.1'
  config.pruning.rewind = 'init'
  config.pruning.levels = 15
  if preset in ('cpu', 'lth'):
    config.training.steps = '5000it'
    config.training.eval_every = '250it'
    config.pruning.levels = 8 if preset == 'cpu' else 15
  elif preset == 'test':
    config.training.steps = '20it'
    config.training.eval_every = '10it'
    config.checkpoint_every = '0it'
    config.pruning.levels = 2
  elif preset != 'paper':
    raise options_lib.unknown_preset(preset, ('paper', 'cpu', 'lth', 'test'))
  options_lib.apply_common_options(config, options)
  config.lock()
  return config
