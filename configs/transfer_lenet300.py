r"""Ticket transfer pairs (Morcos et al. 2019): LeNet-300-100 between MNIST
and Fashion-MNIST, and between Adam and SGD with momentum; Conv-4 on
CIFAR-10 between Adam and SGD (for a GPU).

``pair=<name>`` picks a pair; ``side=source`` or ``side=target`` gives that
side's lottery config (its trunk runs with ``experiments.lottery``), no
``side`` the transfer config (``experiments.transfer``). Every trunk uses
the ``lth`` preset (5,000 iterations per level, 15 levels down to 3.6 %):

  export LTH_DATA_DIR=../shared/data
  for side in source target; do python -m experiments.lottery \
      --config=configs/transfer_lenet300.py:pair=fashion_to_mnist,side=$side \
      --workdir=results/transfer/trunks; done
  python -m experiments.transfer --workdir=results/transfer/trunks \
      --config=configs/transfer_lenet300.py:pair=fashion_to_mnist

Sides: ``mnist`` (the shared LeNet trunk's config: Adam 1.2e-3), ``fashion``
(the same on Fashion-MNIST), ``mnist_sgd`` (SGD 0.01, momentum 0.9).
Data set pairs re-initialise the output layer (dense mask); optimizer pairs
on one data set transfer the whole network (``head=''``). The 20 Newsgroups
<-> Reuters pair is not here: it needs the NLP issue's data and model.

Options (comma-separated): ``pair=...`` (required), ``side=source|target``,
``preset=lth|test`` (``test``: 20 iterations, 2 levels, ``at=0+2``),
``replicates=N`` (default 2), ``at=0+3+7+11+15`` (the levels transferred,
``+``-separated, in training order; the default), ``seed=S``.
"""
import ml_collections

from configs import conv4_cifar10
from configs import lenet300_mnist
from configs import options as options_lib

SGD_LR = 0.01
#: LeNet sides: name -> (data set, optimizer, learning rate).
LENET_SIDES = {
    'mnist': ('mnist', 'adam', 1.2e-3),
    'fashion': ('fashion_mnist', 'adam', 1.2e-3),
    'mnist_sgd': ('mnist', 'sgd', SGD_LR),
}
#: Conv-4 / CIFAR-10 sides (paper preset): name -> (optimizer, lr).
CIFAR_SIDES = {'cifar10_adam': ('adam', 3e-4), 'cifar10_sgd': ('sgd', 0.01)}
#: pair -> (source side, target side, head regex).
PAIRS = {
    'fashion_to_mnist': ('fashion', 'mnist', '^output/'),
    'mnist_to_fashion': ('mnist', 'fashion', '^output/'),
    'adam_to_sgd': ('mnist', 'mnist_sgd', ''),
    'sgd_to_adam': ('mnist_sgd', 'mnist', ''),
    'cifar10_adam_to_sgd': ('cifar10_adam', 'cifar10_sgd', ''),
    'cifar10_sgd_to_adam': ('cifar10_sgd', 'cifar10_adam', ''),
}
DEFAULT_LEVELS = '0+3+7+11+15'


def side_config(side: str, preset: str, replicates: int,
                seed: int) -> ml_collections.ConfigDict:
  """The lottery config of one side of a pair."""
  common = f'replicates={replicates},seed={seed}'
  if side in CIFAR_SIDES:
    optimizer, lr = CIFAR_SIDES[side]
    config = conv4_cifar10.get_config(
        f'preset={"test" if preset == "test" else "paper"},{common}')
  elif side in LENET_SIDES:
    name, optimizer, lr = LENET_SIDES[side]
    config = lenet300_mnist.get_config(f'preset={preset},{common}')
    config.data.name = name
  else:
    raise ValueError(f'unknown side {side!r}; known: '
                     f'{", ".join([*LENET_SIDES, *CIFAR_SIDES])}.')
  config.training.optimizer = optimizer
  config.training.learning_rate = lr
  return config


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """A side's lottery config, or the transfer config of a pair."""
  options = options_lib.parse_options(arg)
  pair = options.pop('pair', None)
  if pair not in PAIRS:
    raise ValueError(f'config option pair={pair!r} is unknown; known: '
                     f'{", ".join(PAIRS)}.')
  side = options.pop('side', None)
  preset = options.pop('preset', 'lth')
  if preset not in ('lth', 'test'):
    raise options_lib.unknown_preset(preset, ('lth', 'test'))
  replicates = int(options.pop('replicates', 2))
  seed = int(options.pop('seed', 0))
  levels = options.pop('at', '0+2' if preset == 'test' else DEFAULT_LEVELS)
  if options:
    raise ValueError(f'unknown config options {sorted(options)}; known: '
                     'pair, side, preset, replicates, at, seed.')
  source, target, head = PAIRS[pair]
  if side in ('source', 'target'):
    return side_config(source if side == 'source' else target, preset,
                       replicates, seed)
  if side is not None:
    raise ValueError(f"config option side={side!r}: use 'source' or "
                     "'target' (or no side for the transfer config).")
  config = ml_collections.ConfigDict()
  config.pair = pair
  config.source = side_config(source, preset, replicates, seed)
  config.target = side_config(target, preset, replicates, seed)
  config.transfer = ml_collections.ConfigDict()
  config.transfer.levels = levels.replace('+', ',')
  config.transfer.variants = 'ticket,reinit,random'
  config.transfer.head = head
  config.transfer.head_mask = 'dense'
  config.lock()
  return config
