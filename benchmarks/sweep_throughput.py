r"""Sweep throughput: model-steps/s of K replicates under each strategy.

  python -m benchmarks.sweep_throughput --models=lenet300_100,conv2 \
      --replicates=1,2,4,8

For each model, replicate count K and strategy of
``lth_jax.training.replicates``, K replicates train ``--steps`` steps through
the experiment's executor, exactly as a lottery level does, on synthetic
data of the model's input shape. Reported: model-steps/s (K * steps /
seconds, best of ``--repeats``), its ratio to ``serial`` (the K runs one
after another), the first call (compile + run) and peak memory (device
peak on GPU/TPU, the process's peak RSS on CPU).

Every (model, strategy) runs in a fresh process, so compiled programs and
memory peaks do not mix. ``auto`` and the strategies that use several
devices (spread, shard) get the host CPU split into one device per core,
as ``replicates.split_host_cpu`` does for a sweep; the others run with one
CPU device. ``--rounds`` repeats the whole set in interleaved order and
keeps the best of each, against the noise of a shared machine.

``--chunk``: ``scan`` trains ``--steps`` steps per call in one ``lax.scan``;
``step`` compiles one unrolled step per call, because XLA:CPU runs
convolution gradients inside loops ~50x slower (jax-ml/jax#12868);
``auto`` does what a lottery level does (``Experiment.steps_per_call``:
``step`` for convolutional models on CPU).
A strategy whose first call takes over ``--max_call_s`` is not tried at
larger K.
"""
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
import jax
import numpy as np

from lth_jax import data as data_lib
from lth_jax import lottery
from lth_jax.training import replicates
from lth_jax.lottery.experiment import Experiment
from lth_jax.training import steps as steps_lib

_MODELS = flags.DEFINE_list('models', ['lenet300_100', 'conv2'],
                            'Registered model names.')
_REPLICATES = flags.DEFINE_list('replicates', ['1', '2', '4', '8'],
                                'Replicate counts K.')
_STRATEGIES = flags.DEFINE_list(
    'strategies', ['serial', 'vmap', 'map', 'spread', 'shard'],
    'Strategies to measure (serial is the baseline).')
_STEPS = flags.DEFINE_integer('steps', 200, 'Steps per timed call.')
_CONV_STEPS = flags.DEFINE_integer(
    'conv_steps', 4, 'Steps per timed call for convolutional models.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Timed calls; best is kept.')
_ROUNDS = flags.DEFINE_integer('rounds', 1, 'Interleaved rounds.')
_BATCH = flags.DEFINE_integer('batch_size', 60, 'Batch size per replicate.')
_EXAMPLES = flags.DEFINE_integer('examples', 10000, 'Synthetic examples.')
_CHUNK = flags.DEFINE_enum('chunk', 'auto', ['auto', 'scan', 'step'],
                           'How a timed call trains (see module doc).')
_MAX_CALL_S = flags.DEFINE_float('max_call_s', 60.0,
                                 'Slower first calls stop larger K.')
_CPU_DEVICES = flags.DEFINE_integer(
    'cpu_devices', 0, 'CPU devices for multi-device strategies (0: cores).')
_JSON = flags.DEFINE_string('json', '', 'Also write the rows here.')
_WORKER = flags.DEFINE_string('worker', '', 'Internal: model:strategy.')

MULTI_DEVICE = ('auto', 'spread', 'shard')
INPUT_SHAPES = {'lenet300_100': (28, 28, 1), 'mlp': (28, 28, 1)}
CIFAR_SHAPE = (32, 32, 3)


def synthetic_dataset(shape: tuple[int, ...], examples: int):
  """Random inputs of ``shape`` with random labels (throughput only)."""
  rng = np.random.default_rng(0)
  x = rng.normal(size=(examples,) + shape).astype(np.float32)
  y = rng.integers(0, 10, examples).astype(np.int32)
  n_test = examples // 10
  return data_lib.dataset.hold_out('synthetic', 10, x[n_test:], y[n_test:],
                                   x[:n_test], y[:n_test], n_test)


def peak_memory_bytes() -> int:
  """Peak device memory on accelerators, peak process RSS on CPU."""
  if jax.default_backend() != 'cpu':
    stats = [d.memory_stats() or {} for d in jax.local_devices()]
    return max(s.get('peak_bytes_in_use', 0) for s in stats)
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(model: str, strategy: str, counts: list[int]) -> list[dict]:
  """Times ``strategy`` for each K in ``counts`` (in this process)."""
  shape = INPUT_SHAPES.get(model, CIFAR_SHAPE)
  dataset = synthetic_dataset(shape, _EXAMPLES.value)
  rows = []
  for count in counts:
    config = lottery.default_config()
    config.model = model
    config.data.name = 'mnist' if shape == (28, 28, 1) else 'cifar10'
    config.replicates = count
    config.sweep.strategy = strategy
    config.training.batch_size = _BATCH.value
    with tempfile.TemporaryDirectory() as tmp:
      exp = Experiment.setup(config, tmp, dataset)
    chunk = _CHUNK.value
    if chunk == 'auto':  # as a lottery level trains this model here
      chunk = 'step' if exp.steps_per_call == 1 else 'scan'
    conv = any(x.ndim == 4 for x in jax.tree.leaves(
        exp.init_variables(0)['params']))
    steps = _CONV_STEPS.value if conv else _STEPS.value
    calls = steps if chunk == 'step' else 1
    fn = functools.partial(
        steps_lib.train_steps, num_steps=1 if chunk == 'step' else steps,
        unroll=chunk == 'step', batch_size=_BATCH.value, task=exp.task,
        augment=exp.augment)
    key = (chunk, steps)
    states = []
    for r in range(count):
      init = exp.init_variables(r)
      states.append(exp.new_state(init['params'], init['batch_stats'],
                                  exp.dense_masks(init['params']), r))
    stacked = exp.executor.place(replicates.stack(states))
    del states

    def timed(stacked):
      tic = time.perf_counter()
      for _ in range(calls):
        stacked = exp.executor(key, fn, stacked, exp.data)[0]
      jax.block_until_ready(stacked)
      return stacked, time.perf_counter() - tic

    stacked, first = timed(stacked)
    best = first
    if first <= _MAX_CALL_S.value:
      for _ in range(_REPEATS.value):
        stacked, seconds = timed(stacked)
        best = min(best, seconds)
    rows.append({
        'model': model, 'strategy': strategy, 'replicates': count,
        'backend': jax.default_backend(), 'devices': jax.device_count(),
        'chunk': chunk, 'steps': steps,
        'model_steps_per_s': count * steps / best, 'first_call_s': first,
        'peak_memory_mib': peak_memory_bytes() / 2**20,
        'auto': replicates.resolve_strategy('auto', count),
        'load_avg_1m': os.getloadavg()[0]})
    print(json.dumps(rows[-1]), flush=True)
    del stacked
    if first > _MAX_CALL_S.value:
      break
  return rows


def run_worker(model: str, strategy: str, counts: list[int]) -> list[dict]:
  """``measure`` in a fresh process with the strategy's CPU device count."""
  env = dict(os.environ)
  if strategy in MULTI_DEVICE:
    cores = _CPU_DEVICES.value or len(os.sched_getaffinity(0))
    env['XLA_FLAGS'] = (env.get('XLA_FLAGS', '') +
                        f' --xla_force_host_platform_device_count={cores}')
  argv = [sys.executable, '-m', 'benchmarks.sweep_throughput',
          f'--worker={model}:{strategy}',
          f'--replicates={",".join(map(str, counts))}'] + [
              f'--{name}={flags.FLAGS[name].value}' for name in (
                  'steps', 'conv_steps', 'repeats', 'batch_size', 'examples',
                  'chunk', 'max_call_s')]
  proc = subprocess.run(argv, env=env, capture_output=True, text=True,
                        check=False)
  rows = [json.loads(line) for line in proc.stdout.splitlines()
          if line.startswith('{')]
  if proc.returncode:
    print(f'{model}/{strategy} failed:\n{proc.stderr[-3000:]}',
          file=sys.stderr)
  return rows


def best_rows(rows: list[dict]) -> dict[tuple, dict]:
  """The fastest row of each (model, strategy, K) over the rounds."""
  best = {}
  for row in rows:
    key = (row['model'], row['strategy'], row['replicates'])
    if key not in best or (row['model_steps_per_s']
                           > best[key]['model_steps_per_s']):
      best[key] = row
  return best


def to_markdown(best: dict[tuple, dict]) -> str:
  """One table row per (model, K, strategy), with the ratio to serial."""
  lines = ['| model | K | strategy | model-steps/s | x serial | first call '
           's | peak MiB | auto |', '|---|---|---|---|---|---|---|---|']
  for (model, strategy, count), row in sorted(
      best.items(), key=lambda kv: (kv[0][0], kv[0][2])):
    base = best.get((model, 'serial', count))
    ratio = (f'{row["model_steps_per_s"] / base["model_steps_per_s"]:.2f}'
             if base else '-')
    lines.append(
        f'| {model} | {count} | {strategy} | '
        f'{row["model_steps_per_s"]:.1f} | {ratio} | '
        f'{row["first_call_s"]:.1f} | {row["peak_memory_mib"]:.0f} | '
        f'{row["auto"]} |')
  return '\n'.join(lines)


def main(argv: list[str]) -> None:
  del argv
  counts = [int(k) for k in _REPLICATES.value]
  if _WORKER.value:
    model, strategy = _WORKER.value.split(':')
    measure(model, strategy, counts)
    return
  rows = []
  for round_ in range(_ROUNDS.value):
    order = [(m, s) for m in _MODELS.value for s in _STRATEGIES.value]
    if round_ % 2:
      order.reverse()
    for model, strategy in order:
      for row in run_worker(model, strategy, counts):
        rows.append(row)
        print(f'{model} {strategy} K={row["replicates"]}: '
              f'{row["model_steps_per_s"]:.1f} model-steps/s', flush=True)
  best = best_rows(rows)
  some = next(iter(best.values()), {})
  print(f'backend={some.get("backend")} cpu cores='
        f'{len(os.sched_getaffinity(0))} steps={_STEPS.value} '
        f'(conv {_CONV_STEPS.value}) batch={_BATCH.value} '
        f'rounds={_ROUNDS.value} load avg (1 min) '
        f'{min(r["load_avg_1m"] for r in rows) if rows else 0:.1f}-'
        f'{max(r["load_avg_1m"] for r in rows) if rows else 0:.1f}')
  print(to_markdown(best))
  if _JSON.value:
    with open(_JSON.value, 'w') as f:
      json.dump(rows, f, indent=1)


if __name__ == '__main__':
  app.run(main)
