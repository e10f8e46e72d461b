r"""VGG-19 on CIFAR-10 (Frankle & Carbin 2019, Figure 7, with warm-up).

Paper preset: SGD with momentum 0.9 and weight decay 1e-4, batch 64,
112,000 iterations (160 epochs) per level; the learning rate warms up
linearly to 0.1 over 10,000 iterations and drops 10x at 56,000 and 84,000;
random crops and flips. Each level prunes 20 % of the remaining conv
weights with one global magnitude threshold; the output layer is not
pruned; rewinding to initialisation; 20 levels (1.2 % of conv weights):

  python -m experiments.lottery --config=configs/vgg19_cifar10.py \
      --workdir=results/vgg19

Frankle et al. 2019 ("Stabilizing the LTH") find VGG-19 tickets at lr 0.1
without warm-up by rewinding to an early iteration instead:
``--config.training.warmup=0it --config.pruning.rewind=step
--config.pruning.rewind_step=500it``.

CIFAR-10 comes through tensorflow-datasets (offline: put
cifar-10-binary.tar.gz in a folder and add
``--config.data.tfds_manual_dir=<folder>``). The ``cpu`` preset trains 1,000
iterations per level for 3 levels; ``test`` runs one level of 4 iterations
on generated CIFAR-shaped data.

Options (comma-separated): ``preset=paper|cpu|test``, ``replicates=N``,
``levels=L``, ``seed=S``.
"""
import ml_collections

from configs import cifar10_presets
from configs import options as options_lib

#: Conv kernels only: the output layer keeps all its weights.
CONV_KERNELS = r'(^|/)conv_\d+/kernel$'


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The VGG-19 / CIFAR-10 config; ``arg`` holds the options."""
  options = options_lib.parse_options(arg)
  config = cifar10_presets.sgd_global_config(
      'vgg19', batch_size=64, steps='112000it', warmup='10000it',
      milestones='56000it,84000it', eval_every='1000it',
      prunable=CONV_KERNELS)
  cifar10_presets.apply_preset(config, options.pop('preset', 'paper'),
                               cpu_steps='1000it', cpu_eval_every='250it',
                               cpu_levels=3)
  options_lib.apply_common_options(config, options)
  config.lock()
  return config
