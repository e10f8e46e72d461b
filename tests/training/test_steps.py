"""Masked training: zeros stay zero, no recompilation, deterministic data."""
import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from lth_jax import models
from lth_jax import pruning
from lth_jax import training
from lth_jax.training import batching
from lth_jax.training import steps as steps_lib

from conftest import tiny_dataset


def setup(seed=0):
  ds = tiny_dataset()
  data = training.to_device(ds)
  model = models.get_model('lenet300_100')
  params = model.init(jax.random.key(seed), data.train_images[:1])['params']
  cfg = ml_collections.ConfigDict(dict(
      optimizer='adam', learning_rate=1e-2, momentum=0.9, nesterov=False,
      weight_decay=1e-3, schedule='constant', warmup='0it', milestones='',
      gamma=0.1))
  tx = training.make_optimizer(cfg, 10, 100)
  return data, model, params, tx


def pruned_masks(params, level=3):
  return pruning.prune_layerwise(params, pruning.ones_like(params),
                                 {'output/': 0.1, '.*': 0.2}, level=level)


def test_pruned_weights_stay_exactly_zero_through_adam_with_decay():
  data, model, params, tx = setup()
  masks = pruned_masks(params)
  state = training.create_train_state(model, params, masks, tx,
                                      jax.random.key(1))
  run = jax.jit(functools.partial(steps_lib.train_steps, num_steps=200,
                                  batch_size=16))
  state, loss, bad = run(state, data)
  assert int(bad) == -1 and np.isfinite(loss)
  for p, m in zip(jax.tree.leaves(state.params),
                  jax.tree.leaves(masks, is_leaf=lambda x: x is None)):
    if m is not None:
      assert (np.asarray(p)[~np.asarray(m)] == 0).all()
  # And the kept weights did train.
  kept = np.asarray(state.params['hidden_0']['kernel'])[
      np.asarray(masks['hidden_0']['kernel'])]
  init = np.asarray(params['hidden_0']['kernel'])[
      np.asarray(masks['hidden_0']['kernel'])]
  assert np.abs(kept - init).max() > 1e-3


def test_gradients_of_pruned_weights_are_zero():
  data, model, params, tx = setup()
  masks = pruned_masks(params)
  state = training.create_train_state(model, params, masks, tx,
                                      jax.random.key(1))

  def loss(p):
    logits, _ = steps_lib.forward(state, p, data.train_images[:32], True)
    return training.losses.per_example(logits, data.train_labels[:32],
                                       training.Task())[0].mean()

  grads = jax.grad(loss)(state.params)
  g = np.asarray(grads['hidden_1']['kernel'])
  assert (g[~np.asarray(masks['hidden_1']['kernel'])] == 0).all()


def test_new_mask_does_not_recompile():
  data, model, params, tx = setup()
  traces = []

  def counted(state, data):
    traces.append(1)
    return steps_lib.train_steps(state, data, num_steps=5, batch_size=16)

  run = jax.jit(counted)
  masks = pruning.ones_like(params)
  for level in range(4):
    if level:
      masks = pruning.prune_layerwise(params, masks, 0.2, level=level)
    state = training.create_train_state(model, params, masks, tx,
                                        jax.random.key(1))
    jax.block_until_ready(run(state, data))
  assert len(traces) == 1
  assert run._cache_size() == 1  # pylint: disable=protected-access


def test_chunked_batches_match_per_step_reference():
  key = jax.random.key(7)
  n, b = 50, 8  # 6 steps per epoch, 2 examples dropped
  whole = np.asarray(batching.chunk_indices(key, 0, 20, b, n))
  for s in range(20):
    np.testing.assert_array_equal(whole[s],
                                  batching.step_indices(key, s, b, n))
  # Any chunking gives the same indices.
  part = np.asarray(batching.chunk_indices(key, 13, 7, b, n))
  np.testing.assert_array_equal(part, whole[13:20])
  # Each epoch visits distinct examples.
  epoch = whole[:6].ravel()
  assert len(set(epoch.tolist())) == 48


def test_chunks_equal_one_long_scan():
  data, model, params, tx = setup()
  masks = pruned_masks(params, 1)
  state = training.create_train_state(model, params, masks, tx,
                                      jax.random.key(1))
  one = jax.jit(functools.partial(steps_lib.train_steps, num_steps=30,
                                  batch_size=16))(state, data)[0]
  part = jax.jit(functools.partial(steps_lib.train_steps, num_steps=10,
                                   batch_size=16))
  s = state
  for _ in range(3):
    s = part(s, data)[0]
  np.testing.assert_allclose(s.params['hidden_0']['kernel'],
                             one.params['hidden_0']['kernel'], rtol=0,
                             atol=1e-6)
  assert int(s.step) == 30


def test_nonfinite_loss_is_reported_with_its_step():
  data, model, params, tx = setup()
  images = data.train_images.at[:].set(jnp.nan)
  bad_data = data._replace(train_images=images)
  state = training.create_train_state(model, params, pruning.ones_like(params),
                                      tx, jax.random.key(1))
  state = state.replace(step=jnp.asarray(7, jnp.int32))
  _, _, bad = steps_lib.train_steps(state, bad_data, 3, 16)
  assert int(bad) == 7


def test_evaluate_counts_every_example_once():
  data, model, params, tx = setup()
  state = training.create_train_state(model, params, pruning.ones_like(params),
                                      tx, jax.random.key(1))
  loss_a, acc_a = steps_lib.evaluate(state, data.test_images, data.test_labels,
                                     batch_size=7)
  loss_b, acc_b = steps_lib.evaluate(state, data.test_images, data.test_labels,
                                     batch_size=1000)
  np.testing.assert_allclose(loss_a, loss_b, rtol=1e-5)
  assert float(acc_a) == float(acc_b)


def test_durations():
  assert training.parse_duration('3ep', 100) == 300
  assert training.parse_duration(25) == 25
  for bad in ('0it', '-5it', '12', 'ten epochs', True):
    try:
      training.parse_duration(bad, 10)
    except ValueError as e:
      assert 'duration' in str(e) or 'positive' in str(e)
    else:
      raise AssertionError(f'{bad!r} accepted')


def test_multi_head_loss_is_the_mean_of_the_heads():
  logits = jnp.array([[2., 0., 0., 1.], [0., 3., 2., 0.]])
  labels = jnp.array([[0, 1], [1, 0]])
  task = training.Task(head_sizes=(2, 2))
  loss, correct = training.losses.per_example(logits, labels, task)
  ce = lambda l, y: float(jax.nn.logsumexp(l) - l[y])
  expected = [(ce(logits[0, :2], 0) + ce(logits[0, 2:], 1)) / 2,
              (ce(logits[1, :2], 1) + ce(logits[1, 2:], 0)) / 2]
  np.testing.assert_allclose(loss, expected, rtol=1e-6)
  np.testing.assert_array_equal(correct, [1.0, 1.0])
  model = models.get_model('mlp', hidden=(8,), head_sizes=(10, 10))
  out = model.apply(model.init(jax.random.key(0), jnp.zeros((1, 4))),
                    jnp.zeros((3, 4)))
  assert out.shape == (3, 20)
