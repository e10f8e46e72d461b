r"""Supermasks on Conv-4 / Conv-6 CIFAR-10 lottery trunks (GPU presets).

The shared body of ``supermask_conv4_cifar10.py`` and
``supermask_conv6_cifar10.py``. ``paper`` reads the trunk of
``conv{4,6}_cifar10.py`` (paper preset, 2 replicates) and trains learned
supermasks as Ramanujan et al. 2020 did for Conv-4/6: SGD (momentum 0.9,
learning rate 0.1, weight decay 1e-4, cosine decay), batch 128, 100 epochs
of the 45,000 training images (35,100 steps), frozen signed-constant
weights. The Bernoulli supermask (Zhou et al. 2019) uses SGD with learning
rate 100 and dynamic weight rescaling, as on MNIST (not tuned for CIFAR).
Untrained supermasks take the per-layer counts of trunk levels 4, 8, 12
and 16. ``test`` reads the conv ``test`` trunk (generated CIFAR-shaped
data) for plumbing.
"""
import ml_collections

from configs import conv4_cifar10
from configs import conv6_cifar10
from configs import options as options_lib
from lth_jax.studies.supermasks import schema as supermask_schema

TRUNKS = {'conv4': conv4_cifar10, 'conv6': conv6_cifar10}


def get_supermask_conv_config(model: str, arg: str | None
                              ) -> ml_collections.ConfigDict:
  """The supermask config over a ``model`` CIFAR-10 trunk, with options."""
  options = options_lib.parse_options(arg)
  preset = options.pop('preset', 'paper')
  if options:
    raise ValueError(f'unknown config options {sorted(options)}; known: '
                     'preset.')
  config = ml_collections.ConfigDict()
  s = config.supermask = supermask_schema.default_section()
  if preset == 'paper':
    config.trunk = TRUNKS[model].get_config('preset=paper,replicates=2')
    s.levels = '4,8,12,16'
    s.steps = 35100
    s.eval_every = 1755
    s.edge_popup.learning_rate = 0.1
    s.edge_popup.weight_decay = 1e-4
  elif preset == 'test':
    config.trunk = TRUNKS[model].get_config('preset=test,replicates=2')
    s.levels = '1'
    s.remaining = '0.5'
    s.steps = 2
    s.eval_every = 1
    s.batch_size = 8
  else:
    raise options_lib.unknown_preset(preset, ('paper', 'test'))
  config.lock()
  return config
