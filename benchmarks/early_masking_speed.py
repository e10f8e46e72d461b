r"""Early masking throughput: 12 timing points trained together vs one by one.

  python -m benchmarks.early_masking_speed --models=lenet300_100 --steps=500

For each model, 12 tickets (one per timing point: each its own mask, pruned
from different weights to the same per-layer counts, as
``lth_jax.studies.early_masking`` builds them) train ``--steps`` steps
through the engine on synthetic data of the model's input shape, in one
process: once *together* (one ``engine.train`` call, the 12 states on the
replicate axis, for each ``--strategies`` entry) and once *one by one* (12
calls of one state each). Reported: model-steps/s (12 * steps / seconds,
after one warm-up call of each program) and the ratio to one by one.
"""
import time

from absl import app
from absl import flags
import jax
import numpy as np

from lth_jax import data as data_lib
from lth_jax import lottery
from lth_jax import pruning
from lth_jax.lottery import strategies
from lth_jax.lottery.experiment import Experiment
from lth_jax.training import engine

_MODELS = flags.DEFINE_list('models', ['lenet300_100'], 'Model names.')
_STEPS = flags.DEFINE_integer('steps', 500, 'Steps per ticket.')
_POINTS = flags.DEFINE_integer('points', 12, 'Timing points (tickets).')
_STRATEGIES = flags.DEFINE_list('strategies', ['vmap', 'serial'],
                                'Strategies for the tickets together.')
_LEVEL = flags.DEFINE_integer('level', 12, 'Pruning level of the masks.')


def synthetic_dataset(shape: tuple[int, ...], examples: int = 2000):
  """Random inputs with random labels (throughput only)."""
  rng = np.random.default_rng(0)
  x = rng.normal(size=(examples,) + shape).astype(np.float32)
  y = rng.integers(0, 10, examples).astype(np.int32)
  n = examples // 10
  return data_lib.dataset.hold_out('synthetic', 10, x[n:], y[n:], x[:n],
                                   y[:n], n)


def setup(model: str, strategy: str) -> Experiment:
  config = lottery.default_config()
  config.model = model
  config.training.steps = f'{_STEPS.value}it'
  config.training.eval_every = f'{_STEPS.value}it'
  config.checkpoint_every = '0it'
  config.progress = False
  config.sweep.strategy = strategy
  config.replicates = _POINTS.value
  shape = (32, 32, 3) if model != 'lenet300_100' else (28, 28, 1)
  return Experiment.setup(config, '/tmp/lth_bench_unused',
                          synthetic_dataset(shape))


def tickets(exp: Experiment) -> list:
  """One state per timing point: masks from different weights, same
  per-layer counts."""
  init = exp.init_variables(0)
  dense = exp.dense_masks(init['params'])
  strategy = strategies.get_strategy(exp.config.pruning.strategy)
  states = []
  for t in range(_POINTS.value):
    w_t = exp.init_variables(0, key=jax.random.key(100 + t))['params']
    masks = strategy(w_t, dense, exp.config.pruning, _LEVEL.value)
    states.append(exp.new_state(init['params'], init['batch_stats'], masks,
                                0))
  return states


def timed(exp: Experiment, states: list) -> float:
  def go():
    runs = engine.train(states, exp.data, exp.loop_spec(), exp.executor)
    jax.block_until_ready(runs[-1].state.params)
  go()  # compile
  tic = time.perf_counter()
  go()
  return time.perf_counter() - tic


def main(argv):
  del argv
  print(f'backend {jax.default_backend()}, {_POINTS.value} timing points, '
        f'{_STEPS.value} steps each\n')
  print('| model | how | strategy | model-steps/s | vs one by one |')
  print('|---|---|---|---|---|')
  for model in _MODELS.value:
    exp = setup(model, 'serial')
    states = tickets(exp)
    counts = {tuple(int(c) for c in jax.device_get(pruning.count_true(
        pruning.masks.mask_leaves(s.masks)))) for s in states}
    assert len(counts) == 1, counts
    base = sum(timed(exp, [s]) for s in states)
    work = _POINTS.value * _STEPS.value
    print(f'| {model} | one by one | serial | {work / base:.0f} | 1.00 |')
    for strategy in _STRATEGIES.value:
      together = setup(model, strategy)
      seconds = timed(together, states)
      print(f'| {model} | together | {strategy} | {work / seconds:.0f} | '
            f'{base / seconds:.2f} |', flush=True)


if __name__ == '__main__':
  app.run(main)
