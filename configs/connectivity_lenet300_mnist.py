r"""Instability of LeNet-300-100 on MNIST (Frankle et al. 2020, Figure 3).

Reads the shared ``lth`` trunk (``configs/lenet300_mnist.py:preset=lth,
replicates=3``: 5,000 iterations per level, 15 levels, rewinding to init)
and measures, for rewind iterations k, the dense network (level 0) and the
tickets of levels 7 (21.1 % of weights) and 15 (3.6 %), 3 inits x 2
data-order pairs (6 paths per point, the verdict's replicates):

  export LTH_DATA_DIR=../shared/data
  python -m experiments.connectivity \
      --config=configs/connectivity_lenet300_mnist.py:preset=cpu \
      --trunk_workdir=results/lth_lenet --workdir=results/connectivity

Presets: ``cpu`` (k = 0, 2000, 500, 100 in that order; the copies train
to iteration 2,500, half the trunk's 5,000, to fit 144 copies on 2 CPU
cores; train error on the first 2,000 training
examples), ``paper`` (the copies train to the trunk's end; k = 0, 25,
100, 500, 2000; levels 0, 3, 7, 11, 15; 3 inits x 3 pairs; 10,000
training examples), ``test`` (the trunk's ``test`` preset,
k = 0, 5, 2 pairs: plumbing only).
"""
import ml_collections

from configs import connectivity
from configs import lenet300_mnist
from configs import options as options_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The sweep config; ``arg``: ``preset=cpu|paper|test``."""
  options = options_lib.parse_options(arg)
  preset = options.pop('preset', 'cpu')
  if options:
    raise ValueError(f'unknown config options {sorted(options)}; known: '
                     'preset.')
  if preset == 'cpu':
    config = connectivity.sweep_config(
        lenet300_mnist.get_config('preset=lth,replicates=3'),
        rewind_steps=(0, 2000, 500, 100), levels=(0, 7, 15),
        replicates=(0, 1, 2), pairs=2, train_eval_examples=2000,
        eval_every='1250it', checkpoint_every='1000it', steps='2500it')
  elif preset == 'paper':
    config = connectivity.sweep_config(
        lenet300_mnist.get_config('preset=lth,replicates=3'),
        rewind_steps=(0, 25, 100, 500, 2000), levels=(0, 3, 7, 11, 15),
        replicates=(0, 1, 2), pairs=3)
  elif preset == 'test':
    config = connectivity.sweep_config(
        lenet300_mnist.get_config('preset=test'), rewind_steps=(0, 5),
        levels=(0, 1), replicates=(0,), pairs=2, train_eval_examples=64,
        eval_every='10it', checkpoint_every='10it')
    config.connectivity.batch_norm_examples = 64
  else:
    raise options_lib.unknown_preset(preset, ('cpu', 'paper', 'test'))
  config.lock()
  return config
