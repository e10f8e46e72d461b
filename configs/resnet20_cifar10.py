r"""ResNet-20 on CIFAR-10 with late rewinding (Frankle et al. 2019, 2020).

Paper preset: SGD with momentum 0.9 and weight decay 1e-4, batch 128,
30,000 iterations per level, learning rate 0.1 dropping 10x at 20,000 and
25,000; random crops and flips. Each level prunes 20 % of the remaining
conv weights (shortcut convs included) with one global magnitude threshold;
the output layer is not pruned; later levels rewind to the dense run's
weights at iteration 500 ("Stabilizing the LTH"); 20 levels:

  python -m experiments.lottery --config=configs/resnet20_cifar10.py \
      --workdir=results/resnet20

open_lth's schedule is ``--config.training.steps=160ep
--config.training.milestones=80ep,120ep``; learning-rate rewinding (Renda
et al. 2020) is ``--config.pruning.rewind=lr``.

CIFAR-10 comes through tensorflow-datasets (offline: put
cifar-10-binary.tar.gz in a folder and add
``--config.data.tfds_manual_dir=<folder>``). The ``cpu`` preset trains
2,000 iterations per level for 4 levels; ``test`` runs one level of 4
iterations on generated CIFAR-shaped data.

Options (comma-separated): ``preset=paper|cpu|test``, ``replicates=N``,
``levels=L``, ``seed=S``.
"""
import ml_collections

from configs import cifar10_presets
from configs import options as options_lib

#: Every conv kernel (stem, blocks, shortcuts); not the output layer.
CONV_KERNELS = r'(^|/)conv_\w+/kernel$'


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The ResNet-20 / CIFAR-10 config; ``arg`` holds the options."""
  options = options_lib.parse_options(arg)
  config = cifar10_presets.sgd_global_config(
      'resnet20', batch_size=128, steps='30000it',
      milestones='20000it,25000it', eval_every='500it',
      prunable=CONV_KERNELS, rewind='step', rewind_step='500it')
  cifar10_presets.apply_preset(config, options.pop('preset', 'paper'),
                               cpu_steps='2000it', cpu_eval_every='250it',
                               cpu_levels=4)
  options_lib.apply_common_options(config, options)
  config.lock()
  return config
