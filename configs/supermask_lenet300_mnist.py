r"""Supermasks on the LeNet-300-100 / MNIST lottery trunk (Zhou et al. 2019;
Ramanujan et al. 2020).

Untrained supermasks for every mask criterion at the per-layer counts of
trunk levels 3, 5, 7 and 10 (51, 33, 21 and 11 % of the weights), and
edge-popup and Bernoulli learned supermasks keeping 10, 30, 50 and 70 % of
every layer, for 3 replicates (``cpu``; 2 in ``paper`` and ``test``),
against the trained tickets.

The ``cpu`` preset (the default) reads the ``lth`` trunk
(``configs/lenet300_mnist.py:preset=lth,replicates=3``), evaluates the
kept-weight treatments ``init`` and ``signed_constant`` with pruned weights
zero, and trains each learned supermask for 1,000 steps of batch 128
(``--config.supermask.methods=`` or ``--config.supermask.levels=`` runs
only one part; finished parts are cached and reused):

  export LTH_DATA_DIR=../shared/data
  python -m experiments.lottery --workdir=results/lth_lenet \
      --config=configs/lenet300_mnist.py:preset=lth,replicates=3
  python -m experiments.supermask --workdir=results/lth_lenet \
      --config=configs/supermask_lenet300_mnist.py:preset=cpu

``paper`` reads the 50,000-iteration trunk (``lenet300_mnist.py``, paper
preset, 2 replicates) and trains learned supermasks for 50,000 steps;
``test`` reads the ``test`` trunk (2 levels of 20 iterations) for plumbing.

Learned supermasks: edge-popup with SGD (momentum 0.9, learning rate 0.5,
cosine decay; the reference code's 0.1 is for CIFAR) and Bernoulli with SGD
(momentum 0.9, learning rate 100, cosine decay) and dynamic weight
rescaling; frozen weights are signed constants ``±sqrt(2 / fan_in)``.

Options (comma-separated): ``preset=cpu|paper|test``.
"""
import ml_collections

from configs import lenet300_mnist
from configs import options as options_lib
from lth_jax.studies.supermasks import schema as supermask_schema


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The supermask config over a LeNet-300-100 trunk; ``arg``: options."""
  options = options_lib.parse_options(arg)
  preset = options.pop('preset', 'cpu')
  if options:
    raise ValueError(f'unknown config options {sorted(options)}; known: '
                     'preset.')
  config = ml_collections.ConfigDict()
  config.supermask = supermask_schema.default_section()
  if preset == 'cpu':
    config.trunk = lenet300_mnist.get_config('preset=lth,replicates=3')
    # Sized for a shared 2-core machine: two treatments, 1,000 steps;
    # 3 replicates, the fewest a verdict accepts.
    config.supermask.replicates = 3
    config.supermask.kept = 'init,signed_constant'
    config.supermask.pruned = 'zero'
    config.supermask.steps = 1000
  elif preset == 'paper':
    config.trunk = lenet300_mnist.get_config('preset=paper,replicates=2')
    config.supermask.steps = 50000
    config.supermask.eval_every = 1000
  elif preset == 'test':
    config.trunk = lenet300_mnist.get_config('preset=test,replicates=2')
    config.supermask.levels = '1,2'
    config.supermask.remaining = '0.3,0.7'
    config.supermask.steps = 20
    config.supermask.eval_every = 10
    config.supermask.batch_size = 32
  else:
    raise options_lib.unknown_preset(preset, ('cpu', 'paper', 'test'))
  config.lock()
  return config
