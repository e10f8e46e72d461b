r"""Early masking on conv6 / CIFAR-10 (the founding proposal's preset).

The trunk is ``configs/conv6_cifar10.py`` with the same preset (Adam 3e-4, conv
15 %, dense 20 %, output 10 % per level); its dense level 0 is trained
once and replayed to capture the weights at each timing point:

  python -m experiments.early_masking --workdir=results/conv6 \
      --config=configs/early_masking_conv6_cifar10.py:preset=cpu

Options: ``preset=paper|cpu|test`` (``test``: one level on generated
data), ``mode=oneshot|iterative``, ``targets=0.2;0.1``, ``replicates=N``,
``seed=S``.
"""
import ml_collections

from configs import conv6_cifar10
from configs import early_masking


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The early-masking config; ``arg`` holds the options."""
  return early_masking.cifar_config(conv6_cifar10.get_config, arg)
