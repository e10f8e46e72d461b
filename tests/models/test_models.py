"""Parameter counts, shapes and a jitted train step for every model."""
import functools
import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lth_jax import models
from lth_jax.models import conv
from lth_jax.models import resnet
from lth_jax.pruning.masks import DEFAULT_PRUNABLE

CIFAR = (32, 32, 3)
MNIST = (28, 28, 1)

# name: (input shape, all params, prunable weights (DEFAULT_PRUNABLE)).
# Frankle & Carbin 2019, Figure 2, rounds to: LeNet 266 k, Conv-2 4.3 M,
# Conv-4 2.4 M, Conv-6 1.7 M, VGG-19 20 M, ResNet-18 (= ResNet-20) 274 k.
# * Conv-6: the paper's own layer table (64,64,p,128,128,p,256,256,p; fc 256,
#   256, 10 on 32x32x3) gives 2,262,602 (conv 1,144,512 + fc 1,116,672 weights
#   + biases); we know of no layout of that table that gives 1.7 M, so we
#   follow the table, not the rounded count.
# * VGG-19 and ResNet-20 equal open_lth's cifar_vgg_19 (20,040,522) and
#   cifar_resnet_20 (272,474) exactly. The paper's 274 k for ResNet also counts
#   the 1,568 batch-norm running means and variances (272,474 + 1,568 =
#   274,042), which live in `batch_stats` here, not in `params`.
# * The others match their rounded numbers: 266,610 / 4,301,642 / 2,425,930.
EXPECTED_COUNTS = {
    'lenet300_100': (MNIST, 266_610, 266_200),
    'conv2': (CIFAR, 4_301_642, 4_300_992),
    'conv4': (CIFAR, 2_425_930, 2_425_024),
    'conv6': (CIFAR, 2_262_602, 2_261_184),
    'vgg11': (CIFAR, 9_231_114, 9_222_848),  # open_lth: 9,231,114.
    'vgg11_nobn': (CIFAR, 9_225_610, 9_222_848),
    'vgg13': (CIFAR, 9_416_010, 9_407_168),  # open_lth: 9,416,010.
    'vgg13_nobn': (CIFAR, 9_410_122, 9_407_168),
    'vgg16': (CIFAR, 14_728_266, 14_715_584),  # open_lth: 14,728,266.
    'vgg16_nobn': (CIFAR, 14_719_818, 14_715_584),
    'vgg19': (CIFAR, 20_040_522, 20_024_000),  # open_lth: 20,040,522.
    'vgg19_nobn': (CIFAR, 20_029_514, 20_024_000),
    'resnet20': (CIFAR, 272_474, 270_896),  # open_lth: 272,474.
    'resnet56': (CIFAR, 855_770, 851_504),
    'resnet110': (CIFAR, 1_730_714, 1_722_416),  # open_lth: 1,730,714.
}

# Models with batch norm: name -> number of batch-norm statistics.
BATCH_STATS = {'vgg11': 5_504, 'vgg19': 11_008, 'resnet20': 1_568}

# One compiled forward/backward each, small enough for CPU: every family,
# with and without batch norm (VGG-13/16, ResNet-56/110 share their code).
STEP_MODELS = ('lenet300_100', 'conv2', 'conv4', 'conv6', 'vgg11_nobn',
               'vgg19', 'resnet20')


def abstract_variables(name, input_shape, **kwargs):
  model = models.get_model(name, **kwargs)
  x = jnp.zeros((1,) + input_shape)
  return jax.eval_shape(lambda k: model.init(k, x, train=False),
                        jax.random.key(0))


def random_variables(model, x, seed=0):
  """Variables shaped as ``model.init``'s, drawn on the host.

  Compiling ``init`` costs seconds per model on CPU (one RNG op per leaf);
  the initialisers themselves are tested separately.
  """
  abstract = jax.eval_shape(functools.partial(model.init, train=False),
                            jax.random.key(0), x)
  rng = np.random.default_rng(seed)

  def fill(path, leaf):
    kind = path[-1].key
    if kind in ('scale', 'var'):
      return jnp.ones(leaf.shape, leaf.dtype)
    if kind in ('bias', 'mean'):
      return jnp.zeros(leaf.shape, leaf.dtype)
    fan_in = int(np.prod(leaf.shape[:-1]))
    std = np.sqrt(2.0 / fan_in, dtype=np.float32)
    return jnp.asarray(rng.standard_normal(leaf.shape, np.float32) * std)

  return jax.tree_util.tree_map_with_path(fill, abstract)


def counts(tree):
  flat, _ = jax.tree_util.tree_flatten_with_path(tree)
  total = prunable = 0
  for path, leaf in flat:
    size = int(np.prod(leaf.shape))
    total += size
    if re.search(DEFAULT_PRUNABLE, '/'.join(k.key for k in path)):
      prunable += size
  return total, prunable


def test_every_registered_model_has_a_pinned_count():
  # text_cnn_ensemble takes token ids: pinned in test_text_model.py;
  # convnet (any widths) is Conv-2 by default, pinned as 'conv2'.
  generic = {'mlp', 'convnet', 'resnet_cifar', 'text_cnn_ensemble'}
  assert set(models.all_model_names()) - generic == set(EXPECTED_COUNTS)


@pytest.mark.parametrize('name', sorted(EXPECTED_COUNTS))
def test_parameter_counts(name):
  input_shape, total, prunable = EXPECTED_COUNTS[name]
  variables = abstract_variables(name, input_shape)
  assert counts(variables['params']) == (total, prunable)
  expected_stats = 0
  if name in BATCH_STATS:
    expected_stats = BATCH_STATS[name]
  elif name.startswith(('vgg', 'resnet')) and not name.endswith('_nobn'):
    expected_stats = None  # Present, not pinned.
  stats = counts(variables.get('batch_stats', {}))[0]
  if expected_stats is None:
    assert stats > 0
  else:
    assert stats == expected_stats


def test_generic_resnet_matches_named_depths():
  named = abstract_variables('resnet56', CIFAR)
  generic = abstract_variables('resnet_cifar', CIFAR, depth=56)
  assert jax.tree.map(lambda a: a.shape, named) == jax.tree.map(
      lambda a: a.shape, generic)
  # open_lth's cifar_resnet_14_128 (wide ResNet-14): 11,093,130.
  wide = abstract_variables('resnet_cifar', CIFAR, depth=14, width=128)
  assert counts(wide['params'])[0] == 11_093_130


def test_layer_names_are_selectable_by_regex():
  params = abstract_variables('resnet20', CIFAR)['params']
  paths = ['/'.join(k.key for k in p)
           for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
  assert 'conv_0/kernel' in paths and 'output/kernel' in paths
  assert 'block_1_0/conv_shortcut/kernel' in paths
  assert 'block_2_2/bn_1/scale' in paths
  assert not any(re.search(DEFAULT_PRUNABLE, p) for p in paths
                 if re.search(r'(^|/)bn_', p))
  assert sum('conv_shortcut' in p for p in paths) == 2
  conv_params = abstract_variables('conv6', CIFAR)['params']
  assert sorted(conv_params) == ['conv_0', 'conv_1', 'conv_2', 'conv_3',
                                 'conv_4', 'conv_5', 'dense_0', 'dense_1',
                                 'output']
  vgg_params = abstract_variables('vgg11', CIFAR)['params']
  assert {k for k in vgg_params if k.startswith('bn_')} == {
      f'bn_{i}' for i in range(8)}


@pytest.mark.parametrize('name', ['conv2', 'vgg19', 'resnet20'])
def test_output_shape_and_num_classes(name):
  variables = abstract_variables(name, CIFAR, num_classes=7)
  model = models.get_model(name, num_classes=7)
  out = jax.eval_shape(
      lambda v, x: model.apply(v, x, train=False), variables,
      jnp.zeros((3,) + CIFAR))
  assert out.shape == (3, 7) and out.dtype == jnp.float32


def test_unknown_model_lists_known_names():
  with pytest.raises(ValueError, match=r"unknown model 'vgg18'.*conv2.*"
                     r'resnet20.*vgg19_nobn'):
    models.get_model('vgg18')


def test_bad_constructor_arguments():
  with pytest.raises(ValueError, match='6n \\+ 2'):
    resnet.resnet_cifar(18)
  with pytest.raises(ValueError, match='known: \\[11, 13, 16, 19\\]'):
    conv.vgg(12)
  with pytest.raises(ValueError, match="unknown batch-norm init 'x'"):
    conv.batch_norm_scale_init('x')


def test_batchnorm_uniform_init():
  # One small module of each family (compiling a full init takes seconds).
  vgg = conv.VGG(plan=(8,), batchnorm_init='uniform')
  block = resnet.BasicBlock(8, stride=2, batchnorm_init='uniform')
  x = jnp.zeros((1, 4, 4, 3))

  @jax.jit
  def init(key):
    return vgg.init(key, x)['params'], block.init(key, x)['params']

  vgg_params, block_params = init(jax.random.key(0))
  for bn in (vgg_params['bn_0'], block_params['bn_0'], block_params['bn_1'],
             block_params['bn_shortcut']):
    scale = bn['scale']
    assert jnp.all((scale >= 0) & (scale < 1)) and jnp.std(scale) > 0
    assert jnp.all(bn['bias'] == 0)


def test_init_is_seeded_and_zero_biased():
  model = models.get_model('conv2')
  init = jax.jit(lambda k: model.init(k, jnp.zeros((1, 4, 4, 3)))['params'])
  a, b, c = init(jax.random.key(0)), init(jax.random.key(0)), init(
      jax.random.key(1))
  assert jax.tree.all(jax.tree.map(jnp.array_equal, a, b))
  assert not jnp.array_equal(a['conv_0']['kernel'], c['conv_0']['kernel'])
  assert jnp.all(a['dense_0']['bias'] == 0)
  # Glorot normal: var = 2 / (fan_in + fan_out), fan_in = 4 * 64 here.
  np.testing.assert_allclose(jnp.std(a['dense_0']['kernel']),
                             np.sqrt(2 / (4 * 64 + 256)), rtol=0.05)


def test_kaiming_normal_matches_torch_std():
  # torch.nn.init.kaiming_normal_: N(0, 2 / fan_in), untruncated.
  w = conv.kaiming_normal(jax.random.key(0), (3, 3, 64, 128))
  np.testing.assert_allclose(jnp.std(w), np.sqrt(2 / (9 * 64)), rtol=0.02)
  assert jnp.max(jnp.abs(w)) > 2 * np.sqrt(2 / (9 * 64))  # Not truncated.


@pytest.mark.parametrize('name', STEP_MODELS)
def test_jitted_train_step(name):
  input_shape = EXPECTED_COUNTS[name][0]
  model = models.get_model(name)
  x = jax.random.normal(jax.random.key(1), (2,) + input_shape)
  y = jnp.array([3, 7])
  variables = random_variables(model, x)
  params = variables['params']
  stats = variables.get('batch_stats')

  @jax.jit
  def step(params, stats):
    def loss_fn(params):
      v = {'params': params}
      if stats is None:
        logits = model.apply(v, x, train=True)
        new_stats = None
      else:
        v['batch_stats'] = stats
        logits, updates = model.apply(v, x, train=True,
                                      mutable=['batch_stats'])
        new_stats = updates['batch_stats']
      loss = optax.softmax_cross_entropy_with_integer_labels(logits, y)
      return loss.mean(), (logits, new_stats)
    return jax.value_and_grad(loss_fn, has_aux=True)(params)

  (loss, (logits, new_stats)), grads = step(params, stats)
  assert logits.shape == (2, 10)
  assert jnp.isfinite(loss)
  assert jax.tree.structure(grads) == jax.tree.structure(params)
  assert all(jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads))
  assert jnp.any(grads['output']['kernel'] != 0)
  if stats is None:
    assert 'batch_stats' not in variables
  else:
    # train=True updates the running statistics; train=False leaves them.
    changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), stats,
                           new_stats)
    assert all(jax.tree.leaves(changed))
    _, updates = jax.jit(functools.partial(
        model.apply, train=False, mutable=['batch_stats']))(variables, x)
    assert jax.tree.all(jax.tree.map(jnp.array_equal, stats,
                                     updates['batch_stats']))


def test_eval_mode_is_deterministic_per_example():
  # With running averages, an example's logits do not depend on its batch.
  model = models.get_model('resnet20')
  x = jax.random.normal(jax.random.key(2), (2,) + CIFAR)
  variables = random_variables(model, x)
  apply = jax.jit(functools.partial(model.apply, train=False))
  both, first = apply(variables, x), apply(variables, x[:1])
  np.testing.assert_allclose(both[:1], first, rtol=1e-5, atol=1e-5)


def test_modules_are_linen():
  for name in ('conv2', 'vgg11', 'resnet20'):
    assert isinstance(models.get_model(name), nn.Module)
