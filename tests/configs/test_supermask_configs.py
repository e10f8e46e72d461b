"""Supermask configs: they validate, and the Conv-4/6 CIFAR-10 paper presets
build and train one step on generated data."""
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import lenet300_mnist
from configs import supermask_lenet300_mnist
from lth_jax import errors
from lth_jax import lottery
from lth_jax import models
from lth_jax import pruning
from lth_jax.studies.supermasks import schema as supermask_schema
from lth_jax.training import supermask_steps as sm


@pytest.mark.parametrize('name,preset', [
    ('supermask_lenet300_mnist', 'cpu'), ('supermask_lenet300_mnist', 'paper'),
    ('supermask_lenet300_mnist', 'test'), ('supermask_conv4_cifar10', 'test'),
    ('supermask_conv6_cifar10', 'test')])
def test_presets_validate(name, preset):
  config = importlib.import_module(f'configs.{name}').get_config(
      f'preset={preset}')
  supermask_schema.validate(config)


def test_output_folders_of_existing_configs_keep_their_names():
  """The schema's move (and ``checkpoint_every``) renamed no folder: the
  hashes printed by the code before it."""
  config = supermask_lenet300_mnist.get_config('preset=cpu')
  assert supermask_schema.section_hash(config) == 'e34dfbc3'
  config.supermask.replicates = 1  # selects, does not name the folder
  config.supermask.checkpoint_every = 0
  assert supermask_schema.section_hash(config) == 'e34dfbc3'
  config.supermask.steps = 999
  assert supermask_schema.section_hash(config) != 'e34dfbc3'
  paper = supermask_lenet300_mnist.get_config('preset=paper')
  assert supermask_schema.section_hash(paper) == '089103a3'


@pytest.mark.parametrize('field,value,match', [
    ('methods', 'edge_popup,bernouli', r"supermask.methods=.*unknown "
     r"supermask method 'bernouli'; known: edge_popup, bernoulli"),
    ('levels', '3,99', r'supermask.levels=.*outside 0..\d+.*pick levels'),
    ('checkpoint_every', -1, r'supermask.checkpoint_every=-1: not a '
     r'number of steps >= 0'),
    ('remaining', '0.5,0', r'supermask.remaining=.*outside \(0, 1\]')])
def test_bad_fields_name_the_field_and_the_fix(field, value, match):
  config = supermask_lenet300_mnist.get_config('preset=cpu')
  config.supermask[field] = value
  with pytest.raises(errors.ConfigError, match=match):
    supermask_schema.validate(config)


def test_lenet_cpu_preset_reads_the_shared_trunk():
  config = supermask_lenet300_mnist.get_config('preset=cpu')
  assert lottery.run_hash(config.trunk) == lottery.run_hash(
      lenet300_mnist.get_config('preset=lth,replicates=3'))


@pytest.mark.parametrize('name,run', [('supermask_conv4_cifar10', True),
                                      ('supermask_conv6_cifar10', False)])
def test_conv_paper_preset_trains_one_step(name, run):
  """Conv-4 runs one step; Conv-6 is traced only (its CPU compile is long)."""
  config = importlib.import_module(f'configs.{name}').get_config(
      'preset=paper')
  supermask_schema.validate(config)
  s = config.supermask
  assert (s.steps, s.batch_size, s.edge_popup.learning_rate) == (
      35100, 128, 0.1)
  model = models.get_model(config.trunk.model, num_classes=10)
  params = model.init(jax.random.key(0), jnp.zeros((1, 32, 32, 3)))['params']
  masks = pruning.ones_like(params, config.trunk.pruning.prunable)
  weights = sm.frozen_weights(jax.random.key(1), params, masks,
                              s.weight_init)
  o = s.edge_popup
  tx = sm.make_optimizer(o.learning_rate, s.steps, o.momentum,
                         o.weight_decay, o.schedule, o.optimizer)
  state = sm.create_state(model, weights, masks, 0.5, jax.random.key(2),
                          jax.random.key(3), tx, 'edge_popup')
  rng = np.random.default_rng(0)
  images = jnp.asarray(rng.normal(size=(4, 32, 32, 3)), jnp.float32)
  labels = jnp.asarray(rng.integers(0, 10, 4), jnp.int32)
  if not run:
    new, loss = jax.eval_shape(sm.train_step, state, images, labels)
    assert loss.shape == () and jax.tree.structure(new.params) == (
        jax.tree.structure(state.params))
    return
  new, loss = jax.jit(sm.train_step)(state, images, labels)
  assert np.isfinite(float(loss))
  jax.tree.map(np.testing.assert_array_equal, state.weights, new.weights)
  assert any(float(jnp.abs(a - b).max()) > 0 for a, b in zip(
      jax.tree.leaves(state.params), jax.tree.leaves(new.params)))
