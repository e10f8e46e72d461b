r"""A positive control for instability: unstable at k = 0, stable later?

Frankle et al. 2020 find deep nets trained by SGD at a high learning rate
without warm-up unstable to SGD noise at initialisation (ResNet-20: stable
from iteration ~2,000) and LeNet-300-100 stable at once. A measure of
instability is only trusted once it shows both cases on real data, so this
config searches a CPU-sized configuration of the first kind: a small
network on MNIST or Fashion-MNIST, SGD (momentum 0.9) at a constant high
learning rate, no warm-up, no augmentation, the dense network only
(level 0), ``inits`` x ``pairs`` paths per rewind point k.

  export LTH_DATA_DIR=../shared/data
  C=configs/connectivity_control.py:model=resnet8,data=fashion_mnist,lr=0.1
  python -m experiments.lottery --config=$C,part=trunk \
      --workdir=results/instability_control
  python -m experiments.connectivity --config=$C \
      --trunk_workdir=results/instability_control \
      --workdir=results/instability_control

Options (comma-separated): ``part=sweep|trunk`` (default sweep),
``model=resnet8|lenet`` (ResNet-8 of the CIFAR family, batch norm, first
stage ``width``; or LeNet-300-100), ``data=fashion_mnist|mnist``,
``lr=0.1``, ``momentum=0.9``, ``batch=128``, ``width=8``,
``steps=1500`` (iterations of the trunk and the copies), ``k=0+100+500``
(rewind iterations, in the order they run), ``inits=2``, ``pairs=2``.
"""
import ml_collections

from configs import connectivity
from configs import options as options_lib
from lth_jax import errors
from lth_jax.lottery import config as config_lib

MODELS = {'resnet8': 'resnet_cifar', 'lenet': 'lenet300_100'}
DEFAULTS = {'part': 'sweep', 'model': 'resnet8', 'data': 'fashion_mnist',
            'lr': '0.1', 'momentum': '0.9', 'batch': '128', 'width': '8',
            'steps': '1500', 'k': '0+100+500', 'inits': '2', 'pairs': '2'}


def trunk_config(o: dict[str, str]) -> ml_collections.ConfigDict:
  """The dense trunk (level 0 only) of the options ``o``."""
  if o['model'] not in MODELS:
    raise errors.InputError(f"unknown model {o['model']!r}; known: "
                     f"{', '.join(MODELS)}.")
  c = config_lib.default_config()
  c.model = MODELS[o['model']]
  if o['model'] == 'resnet8':
    c.model_kwargs = ml_collections.ConfigDict(
        {'depth': 8, 'width': int(o['width'])})
  c.data.name = o['data']
  t = c.training
  t.optimizer = 'sgd'
  t.learning_rate = float(o['lr'])
  t.momentum = float(o['momentum'])
  t.batch_size = int(o['batch'])
  t.steps = f"{int(o['steps'])}it"
  t.eval_every = f"{max(int(o['steps']) // 3, 1)}it"
  c.pruning.levels = 0
  c.pruning.strategy = 'global'
  c.pruning.layer_rates = ''
  c.checkpoint_every = '0it'
  c.replicates = int(o['inits'])
  return c


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The trunk (``part=trunk``) or the instability sweep over it."""
  given = options_lib.parse_options(arg)
  unknown = sorted(set(given) - set(DEFAULTS))
  if unknown:
    raise errors.InputError(f'unknown config options {unknown}; known: '
                     f'{", ".join(DEFAULTS)}.')
  o = {**DEFAULTS, **given}
  trunk = trunk_config(o)
  if o['part'] == 'trunk':
    trunk.lock()
    return trunk
  if o['part'] != 'sweep':
    raise errors.InputError(f"part must be trunk or sweep, got {o['part']!r}.")
  steps = int(o['steps'])
  config = connectivity.sweep_config(
      trunk, rewind_steps=tuple(int(k) for k in o['k'].split('+')),
      levels=(0,), replicates=tuple(range(int(o['inits']))),
      pairs=int(o['pairs']), train_eval_examples=2000,
      eval_every=f'{steps}it', checkpoint_every='0it')
  config.lock()
  return config
