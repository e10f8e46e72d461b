r"""Early masking on vgg19 / CIFAR-10 (the founding proposal's preset).

The trunk is ``configs/vgg19_cifar10.py`` with the same preset (SGD 0.1 with
momentum 0.9, global 20 % of the conv weights per level); its dense
level 0 is trained once and replayed to capture the weights at each
timing point:

  python -m experiments.early_masking --workdir=results/vgg19 \
      --config=configs/early_masking_vgg19_cifar10.py:preset=cpu

Options: ``preset=paper|cpu|test`` (``test``: one level on generated
data), ``mode=oneshot|iterative``, ``targets=0.2;0.1``, ``replicates=N``,
``seed=S``.
"""
import ml_collections

from configs import vgg19_cifar10
from configs import early_masking


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The early-masking config; ``arg`` holds the options."""
  return early_masking.cifar_config(vgg19_cifar10.get_config, arg)
