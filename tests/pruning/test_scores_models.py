"""Pruning-at-init scorers on the CIFAR models, generated data (shapes,
finite scores, exact counts) and SynFlow's ResNet-20 layer check.

VGG-11 and ResNet-20 take about 45 s of CPU each: they run with
``LTH_SLOW_TESTS=1`` (Conv-2 always runs).
"""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import models
from lth_jax import pruning
from lth_jax.lottery import init_pruning
from lth_jax.pruning import scores
from lth_jax.pruning import selection

SHAPE = (1, 32, 32, 3)
slow = pytest.mark.skipif(not os.environ.get('LTH_SLOW_TESTS'),
                          reason='about 45 s of CPU; set LTH_SLOW_TESTS=1')


def generated_batch(per_class=2, classes=10):
  rng = np.random.default_rng(0)
  y = np.repeat(np.arange(classes), per_class).astype(np.int32)
  return jnp.asarray(rng.normal(size=(len(y),) + SHAPE[1:]), jnp.float32), y


def setup(name, prunable=pruning.DEFAULT_PRUNABLE):
  model = models.get_model(name, num_classes=10)
  variables = model.init(jax.random.key(0), jnp.ones(SHAPE), train=False)
  params = variables['params']
  stats = variables.get('batch_stats', {})

  class Exp:  # what init_pruning.logits_fn reads
    pass
  exp = Exp()
  exp.model = model
  logits = init_pruning.logits_fn(exp, stats)
  return model, params, stats, pruning.ones_like(params, prunable), logits


def counts(masks):
  return [int(c) for c in selection.count_true(
      pruning.masks.mask_leaves(masks))]


@pytest.mark.parametrize('name,methods', [
    ('conv2', ('snip', 'grasp', 'synflow')),
    pytest.param('vgg11', ('snip', 'synflow'), marks=slow)])
def test_scorers_run_on_cifar_models(name, methods):
  model, params, stats, masks, logits = setup(name)
  loss = scores.classification_loss(logits)
  batch = generated_batch()
  calls = {
      'snip': lambda: scores.snip(params, masks, loss_fn=loss, batch=batch),
      'grasp': lambda: scores.grasp(params, masks, loss_fn=loss,
                                    batch=batch),
      'synflow': lambda: scores.synflow(
          params, masks, output_fn=init_pruning.synflow_output_fn(
              model, stats), input_shape=SHAPE, rounds=1, rescale=True)}
  out = {m: calls[m]() for m in methods}
  for method, s in out.items():
    for m, leaf in zip(jax.tree.leaves(masks, is_leaf=lambda x: x is None),
                       jax.tree.leaves(s, is_leaf=lambda x: x is None)):
      assert (m is None) == (leaf is None), method
      if m is not None:
        assert leaf.shape == m.shape
        assert bool(jnp.all(jnp.isfinite(leaf))), method
        assert float(jnp.max(jnp.abs(leaf))) > 0, method
  # Exact counts through the selection, and the ranking is not |w|.
  total = sum(int(m.size) for m in pruning.masks.mask_leaves(masks))
  kept = scores.keep_global(out['snip'], masks, total // 20)
  assert sum(counts(kept)) == total // 20
  assert not np.allclose(out['snip']['output']['kernel'],
                         scores.magnitude(params, masks)['output']['kernel'])


@slow
def test_synflow_keeps_every_resnet20_layer_non_empty():
  # Shortcut convolutions are not pruned by SynFlow (Tanaka et al.'s
  # default, prune_residual=False): with them prunable, SynFlow at 1 %
  # empties block_2_0's shortcut (docs/results/pruning_at_init.md).
  prunable = r'(^|/)conv_(\d+)/kernel$|output/kernel$'
  model, params, stats, masks, _ = setup('resnet20', prunable)
  assert 'block_1_0/conv_shortcut/kernel' not in pruning.prunable_paths(
      masks)
  total = sum(int(m.size) for m in pruning.masks.mask_leaves(masks))
  keep = round(total * .01)
  s = scores.synflow(params, masks, input_shape=SHAPE, density=.01,
                     rounds=10, output_fn=init_pruning.synflow_output_fn(
                         model, stats))
  kept = scores.keep_global(s, masks, keep)
  per_layer = counts(kept)
  assert sum(per_layer) == keep
  assert min(per_layer) > 0, dict(zip(pruning.prunable_paths(kept),
                                      per_layer))
  assert len(per_layer) == 20  # 19 convs (no shortcut) and the output
