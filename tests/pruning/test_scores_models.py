"""Pruning-at-init scorers on the CIFAR models, generated data (shapes,
finite scores, exact counts, SNIP = |w * dL/dw|) and SynFlow's ResNet-20
layer check.

CI runs Conv-2 at 1/8 of its widths and a two-conv VGG (the VGG module:
conv, batch norm, pool, global average pool, output) on generated
weights and inputs, one compile per scorer. Conv-2, VGG-11 and ResNet-20
at full size run with ``LTH_SLOW_TESTS=1``: nearly all of their 30-60 s
of CPU is XLA compiling (a ResNet-20 of width 4 on 8x8 inputs compiles
about as slowly, and a ResNet-8 does not show the shortcut collapse).
"""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import models
from lth_jax import pruning
from lth_jax.studies.init_pruning import runner as init_pruning
from lth_jax.models import conv
from lth_jax.pruning import scores
from lth_jax.pruning import synflow as synflow_lib
from lth_jax.pruning import selection

slow = pytest.mark.skipif(not os.environ.get('LTH_SLOW_TESTS'),
                          reason='30-60 s of CPU; set LTH_SLOW_TESTS=1')
#: Only the residual convolutions and the output layer (Tanaka et al.'s
#: ``prune_residual=False``): shortcut convolutions are never pruned.
NO_SHORTCUTS = r'(^|/)conv_(\d+)/kernel$|output/kernel$'


#: name -> (model builder, input shape).
MODELS = {
    'conv2_tiny': (lambda: conv.ConvNet(conv_widths=(8, 8),
                                        dense_widths=(32, 32)),
                   (1, 16, 16, 3)),
    'vgg_tiny': (lambda: conv.VGG(plan=(8, 'M', 16)), (1, 8, 8, 3)),
    'conv2': (lambda: models.get_model('conv2'), (1, 32, 32, 3)),
    'vgg11': (lambda: models.get_model('vgg11'), (1, 32, 32, 3)),
    'resnet20': (lambda: models.get_model('resnet20'), (1, 32, 32, 3)),
}


def generated_batch(shape, per_class=2, classes=10):
  rng = np.random.default_rng(0)
  y = np.repeat(np.arange(classes), per_class).astype(np.int32)
  return jnp.asarray(rng.normal(size=(len(y),) + shape[1:]), jnp.float32), y


def generated_variables(model, shape):
  """He-normal kernels, zero biases, unit batch-norm scales, from numpy.

  ``model.init`` would compile one threefry sampler per weight shape,
  seconds of CPU that a scorer test does not need.
  """
  rng = np.random.default_rng(0)
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0),
                                             jnp.ones(shape), train=False))

  def leaf(path, x):
    name = jax.tree_util.keystr(path[-1:])
    if 'kernel' in name:
      std = np.sqrt(2 / np.prod(x.shape[:-1]))
      return jnp.asarray(rng.normal(size=x.shape) * std, x.dtype)
    fill = 1. if ('scale' in name or 'var' in name) else 0.
    return jnp.full(x.shape, fill, x.dtype)
  return jax.tree_util.tree_map_with_path(leaf, shapes)


def setup(name, prunable=pruning.DEFAULT_PRUNABLE):
  build, shape = MODELS[name]
  model = build()
  if name.endswith('_tiny'):
    variables = generated_variables(model, shape)
  else:
    variables = model.init(jax.random.key(0), jnp.ones(shape), train=False)
  params = variables['params']
  stats = variables.get('batch_stats', {})

  class Exp:  # what init_pruning.logits_fn reads
    pass
  exp = Exp()
  exp.model = model
  logits = init_pruning.logits_fn(exp, stats)
  return (model, shape, params, stats, pruning.ones_like(params, prunable),
          logits)


def counts(masks):
  return [int(c) for c in selection.count_true(
      pruning.masks.mask_leaves(masks))]


def layer_counts(masks):
  return dict(zip(pruning.prunable_paths(masks), counts(masks)))


def assert_scores_fit(s, masks):
  """One finite, not all-zero score array per prunable leaf (SynFlow's
  earlier rounds are -inf), None elsewhere."""
  for m, leaf in zip(jax.tree.leaves(masks, is_leaf=lambda x: x is None),
                     jax.tree.leaves(s, is_leaf=lambda x: x is None)):
    assert (m is None) == (leaf is None)
    if m is not None:
      assert leaf.shape == m.shape
      assert not bool(jnp.any(jnp.isnan(leaf)))
      assert float(jnp.max(jnp.abs(jnp.where(jnp.isfinite(leaf), leaf,
                                              0.)))) > 0


CASES = [(name, method) for name in ('conv2_tiny', 'vgg_tiny')
         for method in ('snip', 'grasp', 'synflow')] + [
             pytest.param(name, method, marks=slow)
             for name, methods in (('conv2', ('snip', 'grasp', 'synflow')),
                                   ('vgg11', ('snip', 'synflow')))
             for method in methods]


@pytest.mark.parametrize('name,method', CASES)
def test_scorers_run_on_cifar_models(name, method):
  model, shape, params, stats, masks, logits = setup(name)
  total = sum(int(m.size) for m in pruning.masks.mask_leaves(masks))
  if method == 'synflow':
    # Iterative: the top 10 % after 3 rounds is its last round's mask.
    s = synflow_lib.synflow(params, masks, density=.1, rounds=3, rescale=True,
                       output_fn=init_pruning.synflow_output_fn(model, stats),
                       input_shape=shape)
    assert_scores_fit(s, masks)
    finite = sum(int(jnp.sum(jnp.isfinite(x))) for x in jax.tree.leaves(s))
    assert finite == synflow_lib.synflow_counts(total, .1, 3)[1]
    keep = round(total * .1)
    assert sum(counts(selection.top_k_global(s, masks, keep))) == keep
    return
  loss = scores.classification_loss(logits)
  batch = generated_batch(shape)
  scorer = scores.get_scorer(method)
  # One compile (eager dispatch would compile every op of the network).
  s, grads = jax.jit(lambda p, b: (scorer(p, masks, loss_fn=loss, batch=b),
                                   jax.grad(loss)(p, b)))(params, batch)
  assert_scores_fit(s, masks)
  assert sum(counts(selection.top_k_global(s, masks, total // 20))) == total // 20
  if method == 'snip':
    # The gate gradient is |w * dL/dw| (batch norm in training mode), a
    # ranking other than the weights'.
    for path in ('conv_0', 'output'):
      np.testing.assert_allclose(
          s[path]['kernel'],
          np.abs(params[path]['kernel'] * grads[path]['kernel']),
          rtol=1e-4, atol=1e-9)
    assert not np.allclose(s['output']['kernel'],
                           scores.magnitude(params, masks)['output']['kernel'])


@slow
def test_synflow_empties_prunable_shortcuts_but_keeps_every_resnet20_layer():
  # With the shortcut convolutions prunable, SynFlow (100 rounds) at 1 %
  # empties block_2_0's shortcut (the residual branches carry far more
  # flow); without them (Tanaka et al.'s default, prune_residual=False),
  # every layer keeps weights (docs/results/pruning_at_init.md).
  def synflow_at_one_percent(prunable, rounds):
    model, shape, params, stats, masks, _ = setup('resnet20', prunable)
    total = sum(int(m.size) for m in pruning.masks.mask_leaves(masks))
    s = synflow_lib.synflow(params, masks, input_shape=shape, density=.01,
                       rounds=rounds, output_fn=init_pruning.synflow_output_fn(
                           model, stats))
    kept = selection.top_k_global(s, masks, round(total * .01))
    assert sum(counts(kept)) == round(total * .01)
    return layer_counts(kept), layer_counts(masks)

  kept, sizes = synflow_at_one_percent(pruning.DEFAULT_PRUNABLE, 100)
  shortcuts = [p for p in kept if 'shortcut' in p]
  assert len(shortcuts) == 2
  assert kept['block_2_0/conv_shortcut/kernel'] == 0
  for p in shortcuts:
    assert kept[p] < .01 * sizes[p], (p, kept[p], sizes[p])

  kept, _ = synflow_at_one_percent(NO_SHORTCUTS, 10)
  assert not any('shortcut' in p for p in kept)
  assert len(kept) == 20  # 19 convs (no shortcut) and the output
  assert min(kept.values()) > 0, kept
