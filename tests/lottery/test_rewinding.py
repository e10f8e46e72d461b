"""Rewinding modes of the IMP trunk (``config.pruning.rewind``).

Level L >= 1 starts from
* ``init``: exactly ``init * mask``, at step 0;
* ``step``: exactly the saved step-k weights of the dense run ``* mask``, at
  step k, with the dense run's data order and schedule from k;
* ``lr``: the previous level's trained weights ``* mask``, with the schedule
  replayed from step 0;
* ``finetune``: the previous level's trained weights ``* mask``, at the
  schedule's final learning rate, held constant.
"""
import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import lottery
from lth_jax import pruning
from lth_jax.lottery import experiment
from lth_jax.lottery import imp
from lth_jax.runs import storage
from lth_jax.training import steps as steps_lib

from conftest import tiny_config
from conftest import tiny_dataset

LR = 0.05
GAMMA = 0.1


def sgd_config(rewind, levels=2, rate=0.2, schedule='step', **overrides):
  """Plain SGD (no momentum: no optimizer state but the schedule's count),
  20 steps per level, evaluations every 5, the learning rate x0.1 at 15."""
  return tiny_config(
      levels=levels, steps='20it', checkpoint_every='0it',
      training__eval_every='5it', training__optimizer='sgd',
      training__momentum=0.0, training__learning_rate=LR,
      training__schedule=schedule, training__milestones='15it',
      training__gamma=GAMMA, pruning__rewind=rewind, pruning__rate=rate,
      pruning__layer_rates='' if rate == 0 else 'output/=0.1', **overrides)


def run(config, workdir):
  lottery.run(config, str(workdir), dataset=tiny_dataset())
  exp = experiment.Experiment.setup(config, str(workdir), tiny_dataset())
  return exp, pathlib.Path(workdir) / lottery.run_hash(config)


def load(rdir, level, name):
  return storage.load_tree(storage.level_dir(rdir, 0, level) / name)


def assert_trees_equal(a, b):
  la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(la) == len(lb)
  for x, y in zip(la, lb):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def first_update_lr(state):
  """The learning rate of the state's next SGD update (from a unit grad)."""
  ones = jax.tree.map(jnp.ones_like, state.params)
  updates, _ = state.tx.update(ones, state.opt_state, state.params)
  values = np.concatenate([np.ravel(u) for u in jax.tree.leaves(updates)])
  assert np.ptp(values) < 1e-9
  return -float(values[0])


def train(exp, state, chunks):
  """Trains ``state`` in scans of the given lengths (the driver's chunks)."""
  for n in chunks:
    fn = jax.jit(functools.partial(
        steps_lib.train_steps, num_steps=n,
        batch_size=exp.config.training.batch_size, task=exp.task,
        augment=exp.augment))
    state, _, _ = fn(state, exp.data)
  return state


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  return tmp_path_factory.mktemp('rewind')


@pytest.mark.parametrize('level', [1, 2])
def test_init_rewinding_starts_from_init_times_mask(workdir, level):
  exp, rdir = run(sgd_config('init'), workdir)
  init = storage.load_tree(rdir / 'replicate_0' / 'init')
  masks = load(rdir, level, 'masks')
  state = imp.start_state(exp, 0, level)
  assert_trees_equal(state.params, pruning.apply_masks(init['params'], masks))
  assert_trees_equal(state.masks, masks)
  assert int(state.step) == 0
  assert first_update_lr(state) == pytest.approx(LR)
  assert pruning.sparsity_report(masks)['fraction'] < 0.81


def test_late_rewinding_saves_the_dense_runs_step_k_weights(workdir):
  exp, rdir = run(sgd_config('step', pruning__rewind_step='10it'), workdir)
  init = storage.load_tree(rdir / 'replicate_0' / 'init')
  point = storage.load_tree(rdir / 'replicate_0' / 'rewind_point')
  dense = exp.new_state(init['params'], init['batch_stats'],
                        exp.dense_masks(init['params']), 0)
  assert_trees_equal(point['params'], train(exp, dense, (5, 5)).params)


@pytest.mark.parametrize('level', [1, 2])
def test_late_rewinding_starts_from_step_k_times_mask(workdir, level):
  exp, rdir = run(sgd_config('step', pruning__rewind_step='10it'), workdir)
  point = storage.load_tree(rdir / 'replicate_0' / 'rewind_point')
  masks = load(rdir, level, 'masks')
  state = imp.start_state(exp, 0, level)
  assert_trees_equal(state.params, pruning.apply_masks(point['params'], masks))
  assert int(state.step) == 10
  dense = imp.start_state(exp, 0, 0)
  np.testing.assert_array_equal(jax.random.key_data(state.data_key),
                                jax.random.key_data(dense.data_key))
  rows = storage.read_jsonl(storage.level_dir(rdir, 0, level) /
                            'metrics.jsonl')
  assert [r['step'] for r in rows] == [10, 15, 20]


@pytest.mark.parametrize('schedule', ['constant', 'step'])
def test_late_rewinding_replays_the_dense_run_from_step_k(tmp_path, schedule):
  # Nothing pruned (rate 0) and SGD without momentum: level 1 restarted at
  # step 10 from the step-10 weights must retrace the dense run exactly:
  # same data order, same learning rates.
  _, rdir = run(sgd_config('step', levels=1, rate=0.0, schedule=schedule,
                           pruning__rewind_step='10it'), tmp_path)
  assert pruning.sparsity_report(load(rdir, 1, 'masks'))['fraction'] == 1.0
  assert_trees_equal(load(rdir, 1, 'trained'), load(rdir, 0, 'trained'))
  dense_rows = storage.read_jsonl(storage.level_dir(rdir, 0, 0) /
                                  'metrics.jsonl')
  rows = storage.read_jsonl(storage.level_dir(rdir, 0, 1) / 'metrics.jsonl')
  assert rows[-1]['test_loss'] == dense_rows[-1]['test_loss']


@pytest.mark.parametrize('level', [1, 2])
def test_lr_rewinding_replays_the_schedule_on_trained_weights(workdir,
                                                              level):
  exp, rdir = run(sgd_config('lr'), workdir)
  trained = load(rdir, level - 1, 'trained')
  masks = load(rdir, level, 'masks')
  state = imp.start_state(exp, 0, level)
  assert_trees_equal(state.params,
                     pruning.apply_masks(trained['params'], masks))
  assert int(state.step) == 0
  assert first_update_lr(state) == pytest.approx(LR)
  after = train(exp, state, (16,))
  assert first_update_lr(after) == pytest.approx(LR * GAMMA)


@pytest.mark.parametrize('level', [1, 2])
def test_finetuning_keeps_the_final_learning_rate(workdir, level):
  exp, rdir = run(sgd_config('finetune'), workdir)
  trained = load(rdir, level - 1, 'trained')
  masks = load(rdir, level, 'masks')
  state = imp.start_state(exp, 0, level)
  assert_trees_equal(state.params,
                     pruning.apply_masks(trained['params'], masks))
  assert exp.final_learning_rate() == pytest.approx(LR * GAMMA)
  assert first_update_lr(state) == pytest.approx(LR * GAMMA)
  after = train(exp, state, (16,))
  assert first_update_lr(after) == pytest.approx(LR * GAMMA)
