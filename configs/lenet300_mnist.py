r"""LeNet-300-100 on MNIST (Frankle & Carbin 2019, Figure 3).

Paper preset: Adam 1.2e-3, batch 60, 50,000 iterations per level, hidden
layers pruned 20 % and the output layer 10 % per level, validation every 100
iterations, rewinding to initialisation.

  python -m experiments.lottery --config=configs/lenet300_mnist.py \
      --workdir=/tmp/lth

The ``cpu`` preset (5,000 iterations per level, validation every 250, 8
levels down to 16.8 % of the hidden weights) finishes in minutes on 2 cores:

  python -m experiments.lottery \
      --config=configs/lenet300_mnist.py:preset=cpu --workdir=/tmp/lth

Options (comma-separated): ``preset=paper|cpu``, ``replicates=N``,
``levels=L``, ``seed=S``.
"""
from lth_jax.lottery import config as config_lib


def parse_options(arg: str | None) -> dict[str, str]:
  """``'preset=cpu,replicates=3'`` -> ``{'preset': 'cpu', ...}``."""
  options = {}
  for item in filter(None, (arg or '').split(',')):
    key, sep, value = item.partition('=')
    if not sep:
      raise ValueError(f'config option {item!r} is not key=value.')
    options[key.strip()] = value.strip()
  return options


def apply_common_options(config, options: dict[str, str]) -> None:
  """Applies ``replicates``, ``levels`` and ``seed`` options."""
  for key, field in (('replicates', 'replicates'), ('seed', 'seed'),
                     ('levels', 'pruning.levels')):
    if key in options:
      node, _, leaf = field.rpartition('.')
      target = config.get(node) if node else config
      target[leaf] = int(options.pop(key))
  if options:
    raise ValueError(f'unknown config options {sorted(options)}; known: '
                     'preset, replicates, levels, seed.')


def get_config(arg: str | None = None):
  options = parse_options(arg)
  preset = options.pop('preset', 'paper')
  config = config_lib.default_config()
  config.model = 'lenet300_100'
  config.data.name = 'mnist'
  config.training.optimizer = 'adam'
  config.training.learning_rate = 1.2e-3
  config.training.batch_size = 60
  config.training.steps = '50000it'
  config.training.eval_every = '100it'
  config.pruning.strategy = 'layerwise'
  config.pruning.rate = 0.2
  config.pruning.layer_rates = 'output/=0.1'
  config.pruning.rewind = 'init'
  config.pruning.levels = 15
  if preset == 'cpu':
    config.training.steps = '5000it'
    config.training.eval_every = '250it'
    config.pruning.levels = 8
  elif preset != 'paper':
    raise ValueError(f"unknown preset {preset!r}; known: 'paper', 'cpu'.")
  apply_common_options(config, options)
  config.lock()
  return config
