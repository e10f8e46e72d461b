r"""Instability of ResNet-20 on CIFAR-10 (Frankle et al. 2020), for a GPU.

Reads the trunk of ``configs/resnet20_cifar10.py:preset=paper,replicates=3``
(see ``configs/connectivity_cifar10.py`` for what the sweep covers):

  python -m experiments.connectivity \
      --config=configs/connectivity_resnet20_cifar10.py:preset=paper \
      --trunk_workdir=results/resnet20 --workdir=results/connectivity_resnet20
"""
import ml_collections

from configs import resnet20_cifar10
from configs import connectivity_cifar10


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The sweep config; ``arg``: ``preset=paper|test``."""
  return connectivity_cifar10.get_sweep(resnet20_cifar10.get_config, arg)
