r"""Early masking on LeNet-300-100 / MNIST: tickets from masks at step t.

The founding proposal lists Adam 3e-4 (the default here, ``lr=3e-4``);
Frankle & Carbin 2019 use 1.2e-3 (``lr=1.2e-3``). With ``preset=lth`` and
``lr=1.2e-3`` the trunk is exactly the shared lottery trunk
``configs/lenet300_mnist.py:preset=lth,replicates=3`` (5,000 iterations per
level, 15 levels), whose level 0 is replayed to capture the weights at each
timing point:

  export LTH_DATA_DIR=../shared/data
  python -m experiments.early_masking --workdir=results/lth_lenet \
      --config=configs/early_masking_lenet300_mnist.py:preset=lth,lr=1.2e-3,replicates=3,mode=oneshot

With ``lr=3e-4`` the trunk is a new run: its dense level 0 is trained once
(the same preset, learning rate 3e-4). Options: ``preset=paper|cpu|lth|
test``, ``lr=3e-4|1.2e-3``, ``mode=oneshot|iterative``,
``targets=0.07;0.036``, ``replicates=N``, ``seed=S``.
"""
import ml_collections

from configs import early_masking
from configs import lenet300_mnist

LEARNING_RATES = {'3e-4': 3e-4, '1.2e-3': 1.2e-3}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The early-masking config; ``arg`` holds the options."""
  trunk, options, preset = early_masking.trunk_and_options(
      lenet300_mnist.get_config, arg)
  lr = options.pop('lr', '3e-4')
  if lr not in LEARNING_RATES:
    raise ValueError(f'lr={lr!r} is not a preset learning rate; use one of '
                     f'{", ".join(LEARNING_RATES)}.')
  with trunk.unlocked():
    trunk.training.learning_rate = LEARNING_RATES[lr]
  return early_masking.early_masking_config(trunk, options, preset)
