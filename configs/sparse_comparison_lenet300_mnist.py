r"""Tickets against the rest of sparse training: LeNet-300-100 on MNIST.

Every method at the same densities and seeds (``lth_jax.studies.
sparse_comparison``; what all comparisons share, IMP's rate included:
``configs/sparse_comparison_presets.py``): IMP with rewinding (the trunk),
one-shot magnitude, Wanda and SparseGPT + fine-tuning, SNIP/SynFlow at
init, SET, RigL and the random-pruning control, each with uniform and ERK
layer densities where it applies, at 50, 20, 10, 5 and 2 % of the weights.

  export LTH_DATA_DIR=../shared/data
  python -m experiments.sparse_comparison --workdir=results/sparse_lenet \
      --config=configs/sparse_comparison_lenet300_mnist.py:preset=cpu

The trunk is ``configs/lenet300_mnist.py`` (Adam 1.2e-3, batch 60). Presets:

* ``full``: the paper's training (50,000 iterations per run and per IMP
  level, validation every 100), 5 replicates, fine-tuning 5,000
  iterations, 17 IMP levels;
* ``cpu``: 1,000 iterations per run and level (validation every 100), 3
  replicates, fine-tuning 300 iterations, 17 IMP levels;
* ``test``: 40 iterations, 2 levels, 1 replicate, density 50 % (plumbing).
"""
import ml_collections

from configs import lenet300_mnist
from configs import sparse_comparison_presets as presets_lib

Preset = presets_lib.Preset
PRESETS = {
    'full': Preset('50000it', '100it', '5000it', 17, 5),
    'cpu': Preset('1000it', '100it', '300it', 17, 3),
    'test': Preset('40it', '20it', '20it', 2, 1, densities='0.5'),
}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The comparison config; ``arg`` holds the options."""
  return presets_lib.comparison_config(
      lambda preset: lenet300_mnist.get_config('preset=paper'), PRESETS, arg)
