r"""Instability of VGG-16 on CIFAR-10 (Frankle et al. 2020), for a GPU.

Reads the trunk of ``configs/vgg16_cifar10.py:preset=paper,replicates=3``
(see ``configs/connectivity_cifar10.py`` for what the sweep covers):

  python -m experiments.connectivity \
      --config=configs/connectivity_vgg16_cifar10.py:preset=paper \
      --trunk_workdir=results/vgg16 --workdir=results/connectivity_vgg16
"""
import ml_collections

from configs import vgg16_cifar10
from configs import connectivity_cifar10


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The sweep config; ``arg``: ``preset=paper|test``."""
  return connectivity_cifar10.get_sweep(vgg16_cifar10.get_config, arg)
