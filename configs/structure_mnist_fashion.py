r"""MNIST + Fashion-MNIST side by side: does the ticket split per task?

*Winning the Lottery Twice*: a 1568-784-784-20 ReLU MLP with two 10-way
heads (Kaiming-normal, zero biases; the loss is the mean of the two
cross-entropies), Adam 1e-3, batch 128, global magnitude pruning of the
weights only, rewinding to init, a fresh optimizer each level, the
trajectory ending at ``target`` weights after ``levels`` levels (rate =
1 - (target / N)^(1 / levels)) or given by ``rate=p``.

  export LTH_DATA_DIR=../shared/data
  python -m experiments.structure --workdir=results/structure_mnist \
      --config=configs/structure_mnist_fashion.py:preset=cpu,replicates=3

Presets: ``paper`` (28x56 inputs, 784-784 hidden, target 600 after 20
levels, early stopping with patience 30 epochs, at most 100 epochs per
level), ``cpu`` (each image 2x2-averaged to 14x14, a 14x28 picture, 392
inputs; 196-196 hidden; target 300 after 16 levels; 2 epochs per level:
minutes on 2 cores), ``test`` (20 iterations, 2 levels). Options:
``target=T``, ``rate=p``, ``levels=L``, ``replicates=N``, ``seed=S``.
"""
import ml_collections

from configs import options as options_lib
from configs import structure_moons
from lth_jax.lottery import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The MNIST + Fashion-MNIST structure config; ``arg`` holds options."""
  options = options_lib.parse_options(arg)
  preset = options.pop('preset', 'paper')
  if preset not in ('paper', 'cpu', 'test'):
    raise options_lib.unknown_preset(preset, ('paper', 'cpu', 'test'))
  small = preset != 'paper'
  inputs, hidden = (392, 196) if small else (1568, 784)
  config = config_lib.default_config()
  config.model = 'mlp'
  config.model_kwargs = ml_collections.ConfigDict(
      {'hidden': (hidden, hidden), 'init': 'kaiming_normal',
       'head_sizes': (10, 10)})
  config.data.name = 'mnist_fashion_14' if small else 'mnist_fashion'
  config.training.optimizer = 'adam'
  config.training.learning_rate = 1e-3
  config.training.batch_size = 128
  config.pruning.strategy = 'global'
  config.pruning.layer_rates = ''
  config.pruning.rewind = 'init'
  config.tensorboard = False
  weights = structure_moons.weight_count(hidden, inputs, 20)
  if preset == 'test':
    options.setdefault('levels', '2')
  options.setdefault('levels', '16' if small else '20')
  structure_moons.apply_trajectory(config, weights, options,
                                   300 if small else 600)
  if preset == 'paper':
    config.training.steps = '100ep'
    config.training.eval_every = '1ep'
    config.training.early_stop_patience = 30
    config.checkpoint_every = '5ep'
  elif preset == 'cpu':
    config.training.steps = '2ep'
    config.training.eval_every = '200it'
    config.checkpoint_every = '0it'
  else:
    config.training.steps = '20it'
    config.training.eval_every = '10it'
    config.checkpoint_every = '0it'
    config.progress = False
  options_lib.apply_common_options(config, options)
  config.lock()
  return config
