r"""Tickets against the rest of sparse training: LeNet-300-100 on MNIST.

Every method at the same densities and seeds (``lth_jax.studies.
sparse_comparison``): IMP with rewinding (the trunk), one-shot magnitude,
Wanda and SparseGPT + fine-tuning, SNIP/SynFlow at init, SET, RigL and the
random-pruning control, with uniform and ERK layer densities.

  export LTH_DATA_DIR=../shared/data
  python -m experiments.sparse_comparison --workdir=results/sparse_lenet \
      --config=configs/sparse_comparison_lenet300_mnist.py:preset=cpu

Presets (the trunk is ``configs/lenet300_mnist.py`` with rate 0.5 per
level, every layer, rewinding to init, so that IMP's levels land on 50, 25,
12.5, 6.25, 3.1 and 1.6 % of the weights; every method runs at these
densities, so each has an IMP point at equal density):

* ``full``: the paper's training (Adam 1.2e-3, batch 60, 50,000
  iterations per run and per IMP level, validation every 100), 5
  replicates, fine-tuning 5,000 iterations, every method and density;
* ``cpu``: 1,500 iterations per run and level (validation every 150), 3
  replicates, fine-tuning 500 iterations, IMP to 3.1 % (5 levels);
* ``test``: 40 iterations, 2 levels, 1 replicate (plumbing only).

Options: ``preset=full|cpu|test``, ``replicates=N``, ``seed=S``,
``methods=rigl:erk;wanda`` (``;``-separated), ``densities=0.5;0.1``
(e.g. ``densities=0.5;0.2;0.1;0.05;0.02``, which IMP at rate 0.5 only
meets at 50 %).
"""
import ml_collections

from configs import lenet300_mnist
from configs import options as options_lib
from lth_jax.studies.sparse_comparison import schema

PRESETS = {  # steps, eval, finetune, levels, replicates
    'full': ('50000it', '100it', '5000it', 6, 5),
    'cpu': ('1500it', '150it', '500it', 5, 3),
    'test': ('40it', '20it', '20it', 2, 1),
}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The comparison config; ``arg`` holds the options."""
  options = options_lib.parse_options(arg)
  preset = options.pop('preset', 'cpu')
  if preset not in PRESETS:
    raise options_lib.unknown_preset(preset, PRESETS)
  steps, every, finetune, levels, count = PRESETS[preset]
  study = schema.default_study()
  study.finetune_steps = finetune
  for key in ('methods', 'densities'):
    if key in options:
      study[key] = options.pop(key).replace(';', ',')
  trunk = lenet300_mnist.get_config('preset=paper')
  with trunk.unlocked():
    trunk.training.steps = steps
    trunk.training.eval_every = every
    trunk.pruning.rate = 0.5
    trunk.pruning.layer_rates = ''
    trunk.pruning.levels = levels
    trunk.replicates = count
    trunk.checkpoint_every = '0it'
    trunk.tensorboard = False
    options_lib.apply_common_options(trunk, options)
  config = ml_collections.ConfigDict({'trunk': trunk, 'study': study})
  config.lock()
  return config
