r"""Conv-6 on CIFAR-10 (Frankle & Carbin 2019, Figures 2 and 5).

Paper preset: Adam 3e-4, batch 60, 30,000 iterations per level, conv layers
pruned 15 %, dense layers 20 % and the output layer 10 % per level,
validation every 100 iterations, rewinding to initialisation, 20 levels:

  python -m experiments.lottery --config=configs/conv6_cifar10.py \
      --workdir=results/conv6

CIFAR-10 comes through tensorflow-datasets (offline: put
cifar-10-binary.tar.gz in a folder and add
``--config.data.tfds_manual_dir=<folder>``). The ``cpu`` preset trains
2,000 iterations per level for 5 levels; ``test`` runs one level of 4
iterations on generated CIFAR-shaped data.

Options (comma-separated): ``preset=paper|cpu|test``, ``replicates=N``,
``levels=L``, ``seed=S``.
"""
import ml_collections

from configs import conv_cifar10


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The Conv-6 / CIFAR-10 config; ``arg`` holds the options."""
  return conv_cifar10.get_conv_config('conv6', arg)
