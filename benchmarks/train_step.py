r"""Speed of masked training: the IMP loop vs. the bare step, masked vs. not.

Three measurements in one process, LeNet-300-100 on MNIST-shaped data
(real MNIST where ``--data_root``/``$LTH_DATA_DIR`` has it), batch 60:

* ``bare``: the jitted masked ``train_step`` called once per step from
  Python on batches gathered ahead of time (what most codebases do);
* ``loop``: the whole IMP level loop of ``lth_jax.lottery`` (on-device data
  order, ``lax.scan`` chunks, validation + test evaluation every
  ``--eval_every`` steps, metrics rows, progress) for ``--steps`` steps;
* ``unmasked``: the bare step with no masks (all-``None`` mask tree);
* ``loop`` once more with evaluation only at the start and the end, which
  separates the framework's overhead from the evaluation work itself
  (15,000 validation + test images per evaluation where validation improves).

  python -m benchmarks.train_step --steps=3000 --eval_every=250

Targets: loop >= 0.9x bare; masked >= 0.95x unmasked.
"""
import functools
import os
import time

from absl import app
from absl import flags
import jax
import numpy as np

from lth_jax import data as data_lib
from lth_jax import lottery
from lth_jax import provenance
from lth_jax import pruning
from lth_jax.lottery import jobs
from lth_jax.lottery.experiment import Experiment
from lth_jax.training import steps as steps_lib

_STEPS = flags.DEFINE_integer('steps', 3000, 'Steps per measurement.')
_EVAL_EVERY = flags.DEFINE_integer('eval_every', 250, 'Loop eval interval.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Best of this many runs.')
_DATA_ROOT = flags.DEFINE_string('data_root', '', 'Raw data root (MNIST).')


def make_experiment(tmpdir: str, eval_every: int | None = None
                    ) -> Experiment:
  config = lottery.default_config()
  config.data.root = _DATA_ROOT.value
  config.training.steps = f'{_STEPS.value}it'
  config.training.eval_every = f'{eval_every or _EVAL_EVERY.value}it'
  config.checkpoint_every = '0it'
  config.progress = False
  try:
    if not data_lib.raw_files.data_root(config.data.root):
      raise data_lib.DataFileError('no raw data root: random data instead')
    dataset = data_lib.get_dataset(config.data)
  except data_lib.DataFileError:
    rng = np.random.default_rng(0)
    x = rng.random((60000, 28, 28, 1), np.float32)
    y = rng.integers(0, 10, 60000).astype(np.int32)
    dataset = data_lib.dataset.hold_out('random', 10, x[:50000], y[:50000],
                                        x[50000:], y[50000:], 5000)
  return Experiment.setup(config, tmpdir, dataset)


def best_time(fn, repeats: int) -> float:
  fn()  # compile and warm up
  times = []
  for _ in range(repeats):
    tic = time.perf_counter()
    fn()
    times.append(time.perf_counter() - tic)
  return min(times)


def bare_steps(exp: Experiment, masks, steps: int):
  """A per-step Python loop over a jitted masked step, batches prefetched."""
  init = exp.init_variables(0)
  state0 = exp.new_state(init['params'], {}, masks, 0)
  step = jax.jit(steps_lib.train_step, donate_argnums=0)
  n = exp.data.train_images.shape[0]
  idx = np.random.default_rng(0).integers(0, n, (steps, 60))
  batches = [(exp.data.train_images[i], exp.data.train_labels[i])
             for i in idx]

  def run():
    state = jax.tree.map(lambda x: x.copy() if hasattr(x, 'copy') else x,
                         state0)
    for x, y in batches:
      state, _ = step(state, x, y)
    jax.block_until_ready(state)
  return run


def loop_steps(exp: Experiment):
  """The library's level loop, exactly as a lottery run drives it."""
  init = exp.init_variables(0)
  masks = exp.dense_masks(init['params'])

  def run():
    job = jobs.Job(0, exp.run_dir / 'bench',
                   exp.new_state(init['params'], {}, masks, 0))
    jax.block_until_ready(jobs.train(exp, 'level 0', [job]))
  return run


def main(argv):
  del argv
  import tempfile  # pylint: disable=import-outside-toplevel
  with tempfile.TemporaryDirectory() as tmp:
    exp = make_experiment(tmp)
    init = exp.init_variables(0)
    dense = exp.dense_masks(init['params'])
    masks = pruning.prune_layerwise(init['params'], dense, 0.2, level=3)
    no_masks = jax.tree.map(lambda _: None, init['params'])
    n, r = _STEPS.value, _REPEATS.value
    t_bare = best_time(bare_steps(exp, masks, n), r)
    t_unmasked = best_time(bare_steps(exp, no_masks, n), r)
    t_loop = best_time(loop_steps(exp), r)
    t_loop_no_eval = best_time(loop_steps(make_experiment(tmp, n)), r)
  rows = [('bare masked step (python loop)', t_bare),
          ('bare unmasked step (python loop)', t_unmasked),
          (f'IMP level loop (eval every {_EVAL_EVERY.value})', t_loop),
          ('IMP level loop (eval at start and end only)', t_loop_no_eval)]
  print(f'backend={jax.default_backend()} steps={n} dataset={exp.dataset.name}')
  print('| what | steps/s |\n|---|---|')
  for name, t in rows:
    print(f'| {name} | {n / t:.0f} |')
  print(f'\nloop / bare masked step: {t_bare / t_loop:.2f}x (target >= 0.9)')
  print(f'loop without periodic eval / bare: {t_bare / t_loop_no_eval:.2f}x')
  print(f'masked / unmasked step:  {t_unmasked / t_bare:.2f}x '
        '(target >= 0.95)')
  print(f'load average at the end: {os.getloadavg()[0]:.2f}')
  print(provenance.note(None))


if __name__ == '__main__':
  app.run(main)
