r"""Supermasks on the Conv-4 / CIFAR-10 lottery trunk (a GPU run).

  python -m experiments.lottery --workdir=results/conv4 \
      --config=configs/conv4_cifar10.py:replicates=2
  python -m experiments.supermask --workdir=results/conv4 \
      --config=configs/supermask_conv4_cifar10.py:preset=paper

See supermask_conv_cifar10.py for the settings. Options:
preset=paper|test.
"""
import ml_collections

from configs import supermask_conv_cifar10


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The supermask config over the Conv-4 trunk; arg: options."""
  return supermask_conv_cifar10.get_supermask_conv_config('conv4', arg)
