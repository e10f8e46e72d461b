"""The sparse comparison's configs: a model's lottery trunk plus the study.

Every ``configs/sparse_comparison_<model>_<data>.py`` builds its trunk (the
model, data and optimizer of that model's lottery config) and passes its
presets here, which sets what every comparison shares:

* IMP (the trunk) prunes ``IMP_RATE`` = 1 - 10^-0.1 = 20.6 % of the
  remaining weights per level (Frankle & Carbin prune 20 %) with one
  magnitude threshold over all layers (open_lth's ``sparse_global``: a
  layer-wise rate leaves LeNet's output layer 20 weights at 2 %),
  rewinding to init:
  ten levels per decade of density, so levels 3, 7, 10, 13 and 17 keep
  50.1, 20.0, 10.0, 5.0 and 2.0 % of the weights, the study's
  ``DENSITIES``. Each other method runs at exactly those densities and is
  compared with the IMP level nearest its density (here: the same to
  0.3 %); IMP pays for every level up to it (17 of them at 2 %). Presets
  too short for 17 levels use ``COARSE_IMP_RATE`` = 1 - 10^(-1/3) =
  53.6 % per level: levels 1-5 keep 46.4, 21.5, 10.0, 4.6 and 2.2 %,
  within 8 % of the densities, each shown beside its comparison;
* no mid-run checkpoints nor TensorBoard events (jobs are short).

Options: ``preset=full|cpu|test``, ``replicates=N``, ``seed=S``,
``levels=L``, ``methods=rigl:erk;wanda`` (``;``-separated),
``densities=0.5;0.1``.
"""
from typing import Callable, NamedTuple

import ml_collections

from configs import options as options_lib
from lth_jax.studies.sparse_comparison import schema

#: IMP's per-level rate: 10 levels per decade of density.
IMP_RATE = 1 - 10 ** -0.1
#: 3 levels per decade: the nearest level within 8 % of each density.
COARSE_IMP_RATE = 1 - 10 ** (-1 / 3)
#: The densities the issue asks for (IMP levels 3, 7, 10, 13, 17).
DENSITIES = '0.5,0.2,0.1,0.05,0.02'
#: Every method, and ERK where it applies (``schema.default_study``).
ALL_METHODS = schema.default_study().methods


class Preset(NamedTuple):
  """One preset: durations (``'1000it'``, ``'3ep'``), IMP levels,
  replicates, the methods (``;`` or ``,``-separated), densities, IMP's
  rate and SET/RigL's update interval (steps)."""
  steps: str
  eval_every: str
  finetune: str
  levels: int
  replicates: int
  methods: str = ALL_METHODS
  densities: str = DENSITIES
  imp_rate: float = IMP_RATE
  update_every: int = 100


def comparison_config(trunk: Callable[[str], ml_collections.ConfigDict],
                      presets: dict[str, Preset], arg: str | None
                      ) -> ml_collections.ConfigDict:
  """``{'trunk': ..., 'study': ...}`` for ``arg``'s preset and options.

  Args:
    trunk: ``preset -> lottery config`` of the model (its own preset's
      model, data and optimizer).
    presets: ``preset -> Preset``.
    arg: the options string (``preset=cpu,replicates=3``).
  """
  options = options_lib.parse_options(arg)
  preset = options.pop('preset', 'cpu')
  if preset not in presets:
    raise options_lib.unknown_preset(preset, presets)
  p = presets[preset]
  study = schema.default_study()
  study.finetune_steps = p.finetune
  study.methods = p.methods.replace(';', ',')
  study.densities = p.densities
  study.update_every = p.update_every
  for key in ('methods', 'densities'):
    if key in options:
      study[key] = options.pop(key).replace(';', ',')
  config = trunk(preset)
  with config.unlocked():
    config.training.steps = p.steps
    config.training.eval_every = p.eval_every
    config.pruning.strategy = 'global'
    config.pruning.rate = p.imp_rate
    config.pruning.layer_rates = ''
    config.pruning.levels = p.levels
    config.replicates = p.replicates
    config.checkpoint_every = '0it'
    config.tensorboard = False
    options_lib.apply_common_options(config, options)
  out = ml_collections.ConfigDict({'trunk': config, 'study': study})
  out.lock()
  return out
