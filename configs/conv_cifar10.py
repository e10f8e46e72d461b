"""Conv-2/4/6 on CIFAR-10 (Frankle & Carbin 2019, Figures 2 and 5).

The shared body of ``conv2_cifar10.py``, ``conv4_cifar10.py`` and
``conv6_cifar10.py``: Adam, batch 60, no augmentation, validation every 100
iterations on 5,000 held-out training images, layer-wise pruning per level
of the conv layers at ``conv_rate``, the dense layers at 20 % and the output
layer at 10 %, rewinding to initialisation, 20 levels.
"""
import dataclasses

import ml_collections

from configs import cifar10_presets
from configs import options as options_lib


@dataclasses.dataclass(frozen=True)
class ConvPaper:
  """One row of Frankle & Carbin 2019, Figure 2."""
  learning_rate: float
  steps: str
  conv_rate: float


PAPER = {
    'conv2': ConvPaper(2e-4, '20000it', 0.1),
    'conv4': ConvPaper(3e-4, '25000it', 0.1),
    'conv6': ConvPaper(3e-4, '30000it', 0.15),
}


def get_conv_config(model: str, arg: str | None
                    ) -> ml_collections.ConfigDict:
  """The config of ``model`` ('conv2', 'conv4' or 'conv6') with options."""
  paper = PAPER[model]
  options = options_lib.parse_options(arg)
  config = cifar10_presets.cifar10_config(model)
  config.data.augment = 'none'
  config.training.optimizer = 'adam'
  config.training.learning_rate = paper.learning_rate
  config.training.batch_size = 60
  config.training.steps = paper.steps
  config.training.eval_every = '100it'
  config.pruning.strategy = 'layerwise'
  config.pruning.rate = 0.2  # the dense layers
  config.pruning.layer_rates = f'output/=0.1,conv_={paper.conv_rate}'
  config.pruning.rewind = 'init'
  config.pruning.levels = 20
  cifar10_presets.apply_preset(config, options.pop('preset', 'paper'),
                               cpu_steps='2000it', cpu_eval_every='250it',
                               cpu_levels=5)
  options_lib.apply_common_options(config, options)
  config.lock()
  return config
