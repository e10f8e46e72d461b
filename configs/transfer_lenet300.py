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
<-> Reuters pairs are in ``configs/transfer_text_cnn.py``.

Options (comma-separated): ``pair=...`` (required), ``side=source|target``,
``preset=lth|test`` (``test``: 20 iterations, 2 levels, ``at=0+2``),
``replicates=N`` (default 3), ``at=0+3+7+11+15`` (the levels transferred,
``+``-separated, in training order; the default), ``seed=S``.
"""
import ml_collections

from configs import conv4_cifar10
from configs import lenet300_mnist
from configs import transfer_pairs

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
  return transfer_pairs.pair_config(
      arg, PAIRS, side_config, ('lth', 'test'),
      {'lth': DEFAULT_LEVELS, 'test': '0+2'})
