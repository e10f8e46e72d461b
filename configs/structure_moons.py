r"""Moons + circles: do IMP tickets split into one subnetwork per task?

*Winning the Lottery Twice*: a 4-w-w-2 ReLU MLP (Kaiming-normal weights,
zero biases), Adam 1e-3, batch 64, global magnitude pruning of the weights
only, rewinding to init, a fresh optimizer each level. The trajectory ends
at ``target`` weights (112: the 4-8-8-2 base net) after ``levels`` levels,
rate = 1 - (target / N)^(1 / levels); by default ``levels`` is the width's
thesis extension level, round(log(target / N) / log(1 - 0.32)). With
``rate=p`` the trajectory is given by the rate instead (``levels`` then
defaults to 10).

  python -m experiments.structure --workdir=results/structure_moons \
      --config=configs/structure_moons.py:preset=cpu,width=57,replicates=5

Presets: ``paper`` (early stopping, patience 30 epochs, at most 500
epochs per level), ``cpu`` (100 epochs per level, validation every 2,
early stopping after 10 evaluations without improvement), ``test`` (20
iterations). Options: ``width=W``, ``target=T``, ``rate=p``,
``levels=L``, ``replicates=N``, ``seed=S``, ``tasks=independent|xor``
(``xor``: the dependent negative control ``moons_circles_xor``, whose
second output is circles XOR moons).
"""
import math

import ml_collections

from configs import options as options_lib
from lth_jax.lottery import config as config_lib

INPUTS, OUTPUTS, BASE_TARGET, THESIS_RATE = 4, 2, 112, 0.32
#: ``tasks=`` option -> data set.
DATASETS = {'independent': 'moons_circles', 'xor': 'moons_circles_xor'}


def weight_count(width: int, inputs: int = INPUTS,
                 outputs: int = OUTPUTS) -> int:
  """Weights of an ``inputs``-w-w-``outputs`` MLP.

  >>> weight_count(8), weight_count(57)
  (112, 3591)
  """
  return inputs * width + width * width + width * outputs


def extension_levels(weights: int, target: int = BASE_TARGET,
                     rate: float = THESIS_RATE) -> int:
  """The thesis's levels for a net of ``weights`` to reach ``target``.

  >>> [extension_levels(weight_count(w)) for w in (8, 38, 57, 64)]
  [0, 7, 9, 10]
  """
  return max(0, round(math.log(target / weights) / math.log(1 - rate)))


def target_rate(weights: int, target: int, levels: int) -> float:
  """The per-level rate that keeps ``target`` of ``weights`` after
  ``levels`` levels: 1 - (target / weights)^(1 / levels).

  >>> round(target_rate(3591, 112, 9), 4)
  0.3198
  """
  if levels == 0:
    return 0.0
  if not 0 < target <= weights:
    raise ValueError(f'target={target} must be in (0, {weights}] (the '
                     'weights of the net).')
  return 1.0 - (target / weights) ** (1.0 / levels)


def apply_trajectory(config: ml_collections.ConfigDict, weights: int,
                     options: dict[str, str], default_target: int) -> None:
  """Sets ``pruning.rate`` / ``levels`` from ``rate=`` or ``target=``."""
  if 'rate' in options:
    if 'target' in options:
      raise ValueError('give the trajectory by rate=p or by target=T, not '
                       'both.')
    config.pruning.rate = float(options.pop('rate'))
    config.pruning.levels = int(options.pop('levels', 10))
    return
  target = int(options.pop('target', default_target))
  levels = int(options.pop('levels', extension_levels(weights, target)))
  config.pruning.levels = levels
  config.pruning.rate = target_rate(weights, target, levels)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The moons + circles structure config; ``arg`` holds the options."""
  options = options_lib.parse_options(arg)
  preset = options.pop('preset', 'paper')
  width = int(options.pop('width', 57))
  tasks = options.pop('tasks', 'independent')
  if tasks not in DATASETS:
    raise ValueError(f'unknown tasks={tasks}; known: {", ".join(DATASETS)}.')
  config = config_lib.default_config()
  config.model = 'mlp'
  config.model_kwargs = ml_collections.ConfigDict(
      {'hidden': (width, width), 'init': 'kaiming_normal'})
  config.data.name = DATASETS[tasks]
  config.data.synthetic_train_size = 1000
  config.data.synthetic_validation_size = 500
  config.data.synthetic_test_size = 1000
  config.training.optimizer = 'adam'
  config.training.learning_rate = 1e-3
  config.training.batch_size = 64
  config.pruning.strategy = 'global'
  config.pruning.layer_rates = ''
  config.pruning.rewind = 'init'
  config.checkpoint_every = '0it'
  config.tensorboard = False
  # Nets this small: all seeds in one vmapped program (not in the hash).
  config.sweep.strategy = 'vmap'
  apply_trajectory(config, weight_count(width), options, BASE_TARGET)
  if preset == 'paper':
    config.training.steps = '500ep'
    config.training.eval_every = '1ep'
    config.training.early_stop_patience = 30
  elif preset == 'cpu':
    config.training.steps = '100ep'
    config.training.eval_every = '2ep'
    config.training.early_stop_patience = 10
  elif preset == 'test':
    config.training.steps = '20it'
    config.training.eval_every = '10it'
    config.progress = False
  else:
    raise options_lib.unknown_preset(preset, ('paper', 'cpu', 'test'))
  options_lib.apply_common_options(config, options)
  config.lock()
  return config
