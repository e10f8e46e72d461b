r"""Tickets against the rest of sparse training: a Conv-2 on Fashion-MNIST.

The second image comparison (``configs/sparse_comparison_presets.py``
holds what every comparison shares, IMP's rate and the densities 50, 20,
10, 5 and 2 % included):

  export LTH_DATA_DIR=../shared/data
  python -m experiments.sparse_comparison --workdir=results/sparse_fashion \
      --config=configs/sparse_comparison_conv_fashion.py:preset=cpu

Model: ``convnet`` (Frankle & Carbin's Conv-2: two 3x3 convolutions, a 2x2
max pool, dense 256, 256, 10) on Fashion-MNIST (55,000 / 5,000 / 10,000
train / validation / test), Adam, batch 60. Presets:

* ``full``: Conv-2 as in the paper (widths 64, 64; Adam 2e-4; 20,000
  iterations per run and IMP level, validation every 100), 5 replicates,
  fine-tuning 2,000 iterations, every method;
* ``cpu``: a narrow Conv-2 (widths 8, 16; dense 64, 64; Adam 1e-3, 300
  iterations per run, validation every 100), 3 replicates, fine-tuning
  100 iterations, SET/RigL updates every 40 iterations, IMP at 53.6 % per
  level (5 levels: 46.4, 21.5, 10.0, 4.6, 2.2 %), at 20, 5 and 2 %, and
  the methods that answer the question: IMP, one-shot global magnitude
  and SparseGPT (ERK) + fine-tuning, RigL (ERK) and random ERK masks
  (``methods=``/``densities=`` add the others);
* ``test``: 20 iterations, 2 levels, 1 replicate, density 50 %.
"""
import ml_collections

from configs import lenet300_mnist
from configs import sparse_comparison_presets as presets_lib

Preset = presets_lib.Preset
#: The cpu preset's methods (the cut is in docs/results/sparse_comparison.md).
CPU_METHODS = 'imp,magnitude:global,sparsegpt:erk,random:erk,rigl:erk'
CPU_DENSITIES = '0.2,0.05,0.02'
PRESETS = {
    'full': Preset('20000it', '100it', '2000it', 17, 5),
    'cpu': Preset('300it', '100it', '100it', 5, 3, CPU_METHODS,
                  CPU_DENSITIES, presets_lib.COARSE_IMP_RATE, 40),
    'test': Preset('20it', '10it', '10it', 2, 1, densities='0.5'),
}
#: preset -> (conv widths, dense widths, Adam learning rate).
MODELS = {'full': ((64, 64), (256, 256), 2e-4),
          'cpu': ((8, 16), (64, 64), 1e-3),
          'test': ((4, 4), (16,), 1e-3)}


def trunk(preset: str) -> ml_collections.ConfigDict:
  """The Conv-2 / Fashion-MNIST lottery config of ``preset``."""
  config = lenet300_mnist.get_config('preset=paper')
  conv, dense, lr = MODELS[preset]
  with config.unlocked():
    config.model = 'convnet'
    config.model_kwargs = ml_collections.ConfigDict(
        {'conv_widths': conv, 'dense_widths': dense})
    config.data.name = 'fashion_mnist'
    config.training.learning_rate = lr
  return config


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The comparison config; ``arg`` holds the options."""
  return presets_lib.comparison_config(trunk, PRESETS, arg)
