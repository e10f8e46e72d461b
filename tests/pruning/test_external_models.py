"""Models defined outside lth-jax: the example's code paths and NNX State."""
import importlib.util
import pathlib

from flax import nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lth_jax.pruning as lth

_EXAMPLE = (pathlib.Path(__file__).resolve().parents[2] / 'examples' /
            'prune_external_model.py')


def load_example():
  spec = importlib.util.spec_from_file_location('prune_external_model',
                                                _EXAMPLE)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


EXAMPLE = load_example()


def check_pruned(result, leaves):
  masks = result['masks']
  report = lth.sparsity_report(masks)
  assert len(report['layers']) == leaves
  assert report['remaining'] == round(0.8 * report['size'])
  for m in lth.masks.mask_leaves(masks):
    assert m.dtype == jnp.bool_
  # Masked weights are exactly zero, kept ones untouched.
  pruned = lth.apply_masks(result['params'], masks)
  for m, p, q in zip(
      jax.tree.leaves(masks, is_leaf=lambda x: x is None),
      jax.tree.leaves(result['params']), jax.tree.leaves(pruned)):
    if m is not None:
      np.testing.assert_array_equal(np.where(m, p, 0), q)
  assert np.isfinite(np.asarray(result['output'])).all()


@pytest.mark.parametrize('name,leaves', [
    ('plain dict', 2), ('flax linen', 4), ('equinox / dataclass', 3),
    ('flax nnx', 2)])
def test_example_prunes_each_model(name, leaves):
  check_pruned(EXAMPLE.EXAMPLES[name](), leaves)


def test_linen_structured_masks():
  result = EXAMPLE.flax_linen()
  for path, m in zip(lth.prunable_paths(result['two_four']),
                     lth.masks.mask_leaves(result['two_four'])):
    assert 'Dense' in path
    groups = np.moveaxis(np.asarray(m), -2, -1)
    groups = groups[..., :groups.shape[-1] // 4 * 4].reshape(-1, 4)
    assert (groups.sum(-1) == 2).all()
  for m in lth.masks.mask_leaves(result['filters']):
    alive = np.asarray(m).reshape(-1, m.shape[-1]).any(0)
    assert alive.sum() == 6  # round(0.75 * 8) filters kept.
    assert (np.asarray(m)[..., alive]).all()


def test_nnx_state_is_accepted():
  graphdef, state = nnx.split(EXAMPLE.NnxMLP(nnx.Rngs(0)))
  assert isinstance(state, nnx.State)
  masks = lth.ones_like(state)
  assert isinstance(masks, nnx.State)
  assert lth.prunable_paths(masks) == ['hidden/kernel/value',
                                       'out/kernel/value']
  masks = lth.prune_global(state, masks, 0.5, level=1)
  pruned = lth.apply_masks(state, masks)
  assert isinstance(pruned, nnx.State)
  model = nnx.merge(graphdef, pruned)
  kernel = np.asarray(model.hidden.kernel[...])
  np.testing.assert_array_equal(kernel == 0,
                                ~np.asarray(masks['hidden']['kernel'][...]))
  assert lth.sparsity_report(masks)['fraction'] == 0.5


def test_main_prints_one_line_per_model(capsys):
  EXAMPLE.main()
  lines = capsys.readouterr().out.strip().splitlines()
  assert len(lines) == len(EXAMPLE.EXAMPLES)
