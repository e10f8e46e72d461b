"""Instability sweeps of the CIFAR-10 trunks (ResNet-20, VGG-16), for a GPU.

Frankle et al. 2020 (Figures 3-5): ResNet-20 becomes stable near
iteration 2,000 dense and near 500 for IMP tickets; VGG-16 near 1,000.
One function serves both configs: the trunk's ``paper`` preset with
rewind points up to 5,000 iterations, the dense net and tickets at 51 %,
21 % and 8.6 % of the conv weights (levels 3, 7, 11 of global 20 %
pruning), 3 inits x 3 pairs, 30 alphas, batch-norm statistics recomputed
on 2,048 training images at every point. ``test`` runs the trunk's
``test`` preset (generated data, 4 iterations, 1 level): plumbing only.
"""
from typing import Callable

import ml_collections

from configs import connectivity
from configs import options as options_lib

REWIND_STEPS = (0, 100, 250, 500, 1000, 2000, 5000)


def get_sweep(trunk_config: Callable[[str], ml_collections.ConfigDict],
              arg: str | None) -> ml_collections.ConfigDict:
  """The sweep of ``trunk_config`` (a ``get_config``); ``arg``: preset."""
  options = options_lib.parse_options(arg)
  preset = options.pop('preset', 'paper')
  if options:
    raise ValueError(f'unknown config options {sorted(options)}; known: '
                     'preset.')
  if preset == 'paper':
    config = connectivity.sweep_config(
        trunk_config('preset=paper,replicates=3'),
        rewind_steps=REWIND_STEPS, levels=(0, 3, 7, 11),
        replicates=(0, 1, 2), pairs=3, eval_batch_size=250,
        eval_every='2000it', checkpoint_every='5000it', group_size=8)
  elif preset == 'test':
    config = connectivity.sweep_config(
        trunk_config('preset=test'), rewind_steps=(0, 2), levels=(0, 1),
        replicates=(0,), pairs=1, train_eval_examples=16,
        eval_batch_size=8, eval_every='4it', checkpoint_every='0it')
    config.connectivity.batch_norm_examples = 16
  else:
    raise options_lib.unknown_preset(preset, ('paper', 'test'))
  config.lock()
  return config
