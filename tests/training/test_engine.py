"""The training engine: hooks, early stopping, resumption, data keys."""
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lth_jax import models
from lth_jax import pruning
from lth_jax.training import batching
from lth_jax.training import checkpoints
from lth_jax.training import engine
from lth_jax.training import replicates
from lth_jax.training import state as state_lib

SERIAL = replicates.Executor('serial')


def tiny_data(n=64, seed=0):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, 4, 4, 1)).astype(np.float32)
  y = (x.reshape(n, -1).sum(1) > 0).astype(np.int32)
  return batching.DeviceData(*map(jnp.asarray, (x, y, x[:16], y[:16],
                                                x[16:32], y[16:32])))


def lenet_state(key, data_key, masks_level=1):
  model = models.get_model('mlp', num_classes=2, hidden=(8,))
  params = model.init(key, jnp.zeros((1, 4, 4, 1)), train=False)['params']
  masks = pruning.prune_layerwise(params, pruning.ones_like(params), 0.5,
                                  level=masks_level)
  return state_lib.create_train_state(model, params, masks, optax.adam(1e-2),
                                      data_key)


SPEC = engine.LoopSpec(total_steps=30, batch_size=8, steps_per_epoch=8,
                       eval_every=10)


def test_two_data_keys_give_two_runs_each_equal_to_its_own_serial_run():
  start = lenet_state(jax.random.key(0), jax.random.key(1))
  other = start.replace(data_key=jax.random.key(2))
  data = tiny_data()
  pair = engine.train([start, other], data, SPEC, replicates.Executor('vmap'))
  alone = engine.train([other], data, SPEC, SERIAL)
  a, b = (jax.tree.leaves(r.state.params) for r in pair)
  assert any(not np.allclose(x, y) for x, y in zip(a, b))
  for x, y in zip(b, jax.tree.leaves(alone[0].state.params)):
    np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
  # The same key twice: the same run (only the data order differs above).
  same = engine.train([start, start], data, SPEC, SERIAL)
  for x, y in zip(*(jax.tree.leaves(r.state.params) for r in same)):
    np.testing.assert_array_equal(x, y)
  # Pruned weights stay exactly zero in both copies.
  assert pruning.sparsity_report(start.masks)['fraction'] == 0.5
  for run in pair:
    masked = pruning.apply_masks(run.state.params, run.state.masks)
    for w, m in zip(jax.tree.leaves(run.state.params),
                    jax.tree.leaves(masked)):
      np.testing.assert_array_equal(w, m)


def test_at_steps_hook_sees_the_states_at_its_steps():
  seen = []
  start = lenet_state(jax.random.key(0), jax.random.key(1))
  engine.train([start], tiny_data(), SPEC, SERIAL, hooks=(engine.AtSteps(
      (3, 17), lambda step, states: seen.append(
          (step, int(states[0].step)))),))
  assert seen == [(3, 3), (17, 17)]


class Counter(state_lib.TrainState):
  """A state whose "training" only counts steps; ``params['w']`` is the
  step at which its made-up validation loss is lowest."""


def counting_step(state, images, labels, task, augment):
  del images, labels, task, augment
  return state.replace(step=state.step + 1), jnp.zeros(())


def v_shaped_loss(state, images, labels):
  del images, labels
  loss = jnp.abs(state.step.astype(jnp.float32) - state.params['w'])
  return {'loss': loss, 'acc': -loss, 'extra': 2 * loss}


FROZEN = optax.sgd(0.0)  # one object: states stack only with equal statics


def counter(best_step):
  return Counter.create(apply_fn=None, params={'w': jnp.float32(best_step)},
                        tx=FROZEN, data_key=jax.random.key(0))


STOP_SPEC = engine.LoopSpec(total_steps=100, batch_size=8, steps_per_epoch=8,
                            eval_every=10, checkpoint_every=10)


def run_counters(dirs=None, hooks=()):
  return engine.train([counter(40), counter(80)], tiny_data(), STOP_SPEC,
                      SERIAL, checkpoint_dirs=dirs, hooks=hooks,
                      stop=engine.EarlyStopping(patience=2),
                      evaluate=v_shaped_loss, train_step=counting_step)


def test_early_stopping_freezes_a_replicate_and_lets_the_others_go_on():
  early, late = run_counters()
  assert early.stopped and [r['step'] for r in early.rows][-1] == 60
  assert int(early.state.step) == 60  # frozen at its stop evaluation
  assert [r['step'] for r in late.rows][-1] == 100 and late.stopped
  assert int(late.state.step) == 100
  assert early.rows[4]['val_extra'] == 0.0 and 'test_extra' in early.rows[4]


class Killed(Exception):
  pass


def test_early_stopped_runs_resume_to_the_same_result(tmp_path):
  want = run_counters()
  dirs = [tmp_path / 'a', tmp_path / 'b']

  def die(step, states):
    raise Killed(step)

  with pytest.raises(Killed):
    run_counters(dirs, hooks=(engine.AtSteps((75,), die),))
  assert checkpoints.checkpoint_steps(dirs[0]) == [60, 70]
  got = run_counters(dirs)
  for w, g in zip(want, got):
    assert w.rows == g.rows and w.stopped == g.stopped
    assert int(w.state.step) == int(g.state.step)


def test_early_stopping_rejects_a_bad_patience():
  with pytest.raises(ValueError, match='positive number of evaluations'):
    engine.EarlyStopping(0)


def test_a_nan_loss_names_the_label_and_replicate():
  start = lenet_state(jax.random.key(0), jax.random.key(1))
  bad = start.replace(params=jax.tree.map(lambda x: x * jnp.nan,
                                          start.params))
  with pytest.raises(engine.NonFiniteLossError,
                     match=r'^timing t=5, copy 1: the training loss'):
    engine.train([start, bad], tiny_data(), SPEC, SERIAL,
                 label='timing t=5', names=['copy 0', 'copy 1'])


def test_importing_the_pure_core_loads_no_io_or_plotting():
  code = ('import sys, lth_jax.pruning; print(sorted({m.split(".")[0] for m '
          'in sys.modules} & {"orbax", "matplotlib", "tensorflow", '
          '"tensorflow_datasets", "tensorboardX", "ml_collections"}))')
  out = subprocess.run([sys.executable, '-c', code], check=True, text=True,
                       capture_output=True).stdout
  assert out.strip() == '[]'
