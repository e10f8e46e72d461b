"""What the CIFAR-10 configs share: the data, and the three presets.

* ``paper``: CIFAR-10 through tensorflow-datasets with the paper's schedule
  (set by each config);
* ``cpu``: the same data and hyper-parameters with fewer iterations and
  levels; milestones, warm-up and the rewind step shrink in proportion;
* ``test``: generated CIFAR-shaped data (``synthetic_cifar10``), a few
  iterations and one level: checks the plumbing in seconds, learns nothing.

Durations in the CIFAR configs are written in iterations (``'56000it'``), so
that presets can rescale them without knowing the data set's size.
"""
import ml_collections

from configs import options as options_lib
from lth_jax.lottery import config as config_lib
from lth_jax.training import durations

PRESETS = ('paper', 'cpu', 'test')


def cifar10_config(model: str) -> ml_collections.ConfigDict:
  """The lottery defaults with ``model`` on CIFAR-10 (5,000 held out)."""
  config = config_lib.default_config()
  config.model = model
  config.data.name = 'cifar10'
  config.data.validation_size = 5000
  return config


def scale_duration(value: str, factor: float) -> str:
  """``'56000it'`` times ``factor``, in iterations; nonzero stays nonzero.

  >>> scale_duration('56000it', 0.01), scale_duration('500it', 1e-4)
  ('560it', '1it')
  """
  steps = durations.parse_duration(value, allow_zero=True)
  return f'{max(round(steps * factor), 1) if steps else 0}it'


def cpu_preset(config: ml_collections.ConfigDict, steps: str,
               eval_every: str, levels: int) -> None:
  """Shortens the paper's run to ``steps`` per level and ``levels`` levels."""
  t = config.training
  factor = (durations.parse_duration(steps)
            / durations.parse_duration(t.steps))
  t.milestones = ','.join(scale_duration(m, factor)
                          for m in t.milestones.split(',') if m)
  t.warmup = scale_duration(t.warmup, factor)
  config.pruning.rewind_step = scale_duration(config.pruning.rewind_step,
                                              factor)
  t.steps = steps
  t.eval_every = eval_every
  config.pruning.levels = levels


def test_preset(config: ml_collections.ConfigDict) -> None:
  """Four iterations of one level on small generated CIFAR-shaped data."""
  config.data.name = 'synthetic_cifar10'
  config.data.synthetic_train_size = 40  # 8 of them for validation
  config.data.synthetic_validation_size = 8
  config.data.synthetic_test_size = 8
  t = config.training
  t.batch_size = 8
  t.eval_batch_size = 64
  t.steps = '4it'
  t.eval_every = '4it'
  has_warmup = durations.parse_duration(t.warmup, allow_zero=True) > 0
  t.warmup = '1it' if has_warmup else '0it'
  t.milestones = '3it' if t.milestones else ''
  config.pruning.rewind_step = ('2it' if config.pruning.rewind == 'step'
                                else '0it')
  config.checkpoint_every = '0it'
  config.progress = False
  config.pruning.levels = 1


def apply_preset(config: ml_collections.ConfigDict, preset: str,
                 cpu_steps: str, cpu_eval_every: str, cpu_levels: int
                 ) -> None:
  """Applies ``preset`` (one of ``PRESETS``) to a paper config."""
  if preset == 'cpu':
    cpu_preset(config, cpu_steps, cpu_eval_every, cpu_levels)
  elif preset == 'test':
    test_preset(config)
  elif preset != 'paper':
    raise options_lib.unknown_preset(preset, PRESETS)


def sgd_global_config(model: str, *, batch_size: int, steps: str,
                      milestones: str, eval_every: str, prunable: str,
                      warmup: str = '0it', rewind: str = 'init',
                      rewind_step: str = '0it') -> ml_collections.ConfigDict:
  """The deep-network recipe of Frankle et al. 2019/2020 (VGG, ResNet).

  SGD 0.1 with momentum 0.9, weight decay 1e-4, step decay by 10x at
  ``milestones``, crop-and-flip augmentation, global magnitude pruning of
  20 % of the ``prunable`` weights per level, 20 levels.
  """
  config = cifar10_config(model)
  config.data.augment = 'crop_flip'
  t = config.training
  t.optimizer = 'sgd'
  t.learning_rate = 0.1
  t.momentum = 0.9
  t.weight_decay = 1e-4
  t.schedule = 'step'
  t.warmup = warmup
  t.milestones = milestones
  t.gamma = 0.1
  t.batch_size = batch_size
  t.steps = steps
  t.eval_every = eval_every
  config.pruning.strategy = 'global'
  config.pruning.rate = 0.2
  config.pruning.layer_rates = ''
  config.pruning.prunable = prunable
  config.pruning.rewind = rewind
  config.pruning.rewind_step = rewind_step
  config.pruning.levels = 20
  return config
