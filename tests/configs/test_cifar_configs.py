"""The CIFAR-10 configs: paper hyper-parameters, presets, one IMP level each."""
import importlib
import pathlib

import numpy as np
import pytest

from lth_jax import lottery
from lth_jax import pruning
from lth_jax.runs import storage
from lth_jax.lottery import strategies

CONFIGS = ('conv2', 'conv4', 'conv6', 'vgg19', 'resnet20')


def get_config(name, arg=''):
  return importlib.import_module(f'configs.{name}_cifar10').get_config(arg)


# name: (optimizer, lr, batch, iterations, strategy, layer rates or global
# rate). Frankle & Carbin 2019, Figure 2; Frankle et al. 2019 for ResNet-20.
PAPER = {
    'conv2': ('adam', 2e-4, 60, '20000it', 'layerwise',
              {'conv_0': .1, 'conv_1': .1, 'dense_0': .2, 'dense_1': .2,
               'output': .1}),
    'conv4': ('adam', 3e-4, 60, '25000it', 'layerwise',
              {'conv_3': .1, 'dense_1': .2, 'output': .1}),
    'conv6': ('adam', 3e-4, 60, '30000it', 'layerwise',
              {'conv_5': .15, 'dense_0': .2, 'output': .1}),
    'vgg19': ('sgd', 0.1, 64, '112000it', 'global', 0.2),
    'resnet20': ('sgd', 0.1, 128, '30000it', 'global', 0.2),
}


@pytest.mark.parametrize('name', CONFIGS)
def test_paper_preset_hyper_parameters(name):
  c = get_config(name)
  optimizer, lr, batch, steps, strategy, rates = PAPER[name]
  t = c.training
  assert (t.optimizer, t.learning_rate, t.batch_size, t.steps) == (
      optimizer, lr, batch, steps)
  assert c.pruning.strategy == strategy and c.data.name == 'cifar10'
  lottery.validate(c)
  if strategy == 'layerwise':
    parsed = strategies.parse_layer_rates(c.pruning.layer_rates,
                                                  c.pruning.rate)
    for layer, rate in rates.items():
      path = f'{layer}/kernel'
      assert pruning.magnitude.rate_for_path(path, parsed) == rate, path
  else:
    assert c.pruning.rate == rates
    assert t.momentum == 0.9 and t.weight_decay == 1e-4
    assert t.schedule == 'step' and t.milestones and t.gamma == 0.1
    assert c.data.augment == 'crop_flip'


def test_vgg19_warms_up_and_resnet20_rewinds_late():
  vgg, resnet = get_config('vgg19'), get_config('resnet20')
  assert vgg.training.warmup == '10000it'
  assert vgg.training.milestones == '56000it,84000it'
  assert (resnet.pruning.rewind, resnet.pruning.rewind_step) == (
      'step', '500it')


def test_cpu_preset_shrinks_the_schedule_in_proportion():
  c = get_config('vgg19', 'preset=cpu,replicates=2,seed=3')
  assert c.training.steps == '1000it' and c.pruning.levels == 3
  assert c.training.milestones == '500it,750it'
  assert c.training.warmup == '89it'
  assert (c.replicates, c.seed) == (2, 3)
  r = get_config('resnet20', 'preset=cpu')
  assert r.pruning.rewind_step == '33it'
  lottery.validate(r)


@pytest.mark.parametrize('arg,match', [
    ('preset=gpu', "unknown preset 'gpu'; known: 'paper', 'cpu', 'test'"),
    ('preset=test,replicate=2', r"unknown config options \['replicate'\]"),
    ('levels=two', "levels='two' is not an integer"),
    ('preset', "'preset' is not key=value"),
])
def test_bad_options_are_clear_errors(arg, match):
  with pytest.raises(ValueError, match=match):
    get_config('conv2', arg)


def test_lenet_presets():
  lenet = importlib.import_module('configs.lenet300_mnist')
  lth = lenet.get_config('preset=lth,replicates=3')
  assert (lth.training.steps, lth.training.eval_every, lth.pruning.levels,
          lth.replicates) == ('5000it', '250it', 15, 3)
  # 15 levels leave <= 3.6 % of LeNet's weights (hidden 0.8^15, output 0.9^15).
  hidden, output = 784 * 300 + 300 * 100, 100 * 10
  left = (round(0.8 ** 15 * 784 * 300) + round(0.8 ** 15 * 300 * 100)
          + round(0.9 ** 15 * output))
  assert left / (hidden + output) <= 0.036
  assert lenet.get_config('preset=cpu').pruning.levels == 8


def expected_counts(config, masks):
  """Per-layer kept weights after level 1, from the config's rates."""
  sizes = {p: int(np.size(m)) for p, m in zip(pruning.prunable_paths(masks),
                                              pruning.masks.mask_leaves(masks))}
  if config.pruning.strategy == 'global':
    return None, round((1 - config.pruning.rate) * sum(sizes.values()))
  rates = strategies.parse_layer_rates(config.pruning.layer_rates,
                                               config.pruning.rate)
  per_layer = {p: round((1 - pruning.magnitude.rate_for_path(p, rates)) * n)
               for p, n in sizes.items()}
  return per_layer, sum(per_layer.values())


@pytest.mark.parametrize('name', CONFIGS)
def test_one_imp_level_on_generated_cifar(name, tmp_path):
  config = get_config(name, 'preset=test')
  assert config.data.name == 'synthetic_cifar10'
  summaries = lottery.run(config, str(tmp_path))
  assert [s['level'] for s in summaries] == [0, 1]
  run_dir = pathlib.Path(tmp_path) / lottery.run_hash(config)
  masks = storage.load_tree(storage.level_dir(run_dir, 0, 1) / 'masks')
  report = pruning.sparsity_report(masks)
  per_layer, total = expected_counts(config, masks)
  assert report['remaining'] == total
  if per_layer is not None:
    assert {p: v['remaining'] for p, v in report['layers'].items()} == (
        per_layer)
  else:
    # Global pruning of conv kernels only: the output layer is never pruned.
    assert all('conv_' in p for p in report['layers'])
    assert any(v['fraction'] < 0.8 for v in report['layers'].values())
    assert any(v['fraction'] > 0.8 for v in report['layers'].values())
  assert any(p.startswith('output') for p in report['layers']) == (
      per_layer is not None)
  assert np.isfinite(summaries[1]['early_stop_val_loss'])
