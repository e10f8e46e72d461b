r"""VGG-16 on CIFAR-10 (Frankle et al. 2020, Table 1; open_lth cifar_vgg_16).

Paper preset: SGD with momentum 0.9 and weight decay 1e-4, batch 128, 160
epochs (62,500 iterations) per level, learning rate 0.1 dropping 10x at
epochs 80 and 120 (31,250 and 46,875 iterations); random crops and flips;
each level prunes 20 % of the remaining conv weights with one global
magnitude threshold (the output layer is not pruned), rewinding to
iteration 1,000 (where VGG-16 becomes stable, Frankle et al. 2020):

  python -m experiments.lottery --config=configs/vgg16_cifar10.py \
      --workdir=results/vgg16

The ``cpu`` preset trains 1,000 iterations per level for 3 levels;
``test`` runs one level of 4 iterations on generated CIFAR-shaped data.

Options (comma-separated): ``preset=paper|cpu|test``, ``replicates=N``,
``levels=L``, ``seed=S``.
"""
import ml_collections

from configs import cifar10_presets
from configs import options as options_lib

#: Conv kernels only: the output layer keeps all its weights.
CONV_KERNELS = r'(^|/)conv_\d+/kernel$'


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The VGG-16 / CIFAR-10 config; ``arg`` holds the options."""
  options = options_lib.parse_options(arg)
  config = cifar10_presets.sgd_global_config(
      'vgg16', batch_size=128, steps='62500it',
      milestones='31250it,46875it', eval_every='1000it',
      prunable=CONV_KERNELS, rewind='step', rewind_step='1000it')
  cifar10_presets.apply_preset(config, options.pop('preset', 'paper'),
                               cpu_steps='1000it', cpu_eval_every='250it',
                               cpu_levels=3)
  options_lib.apply_common_options(config, options)
  config.lock()
  return config
