"""Masks: creation by path regex, application, structure checks."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import pruning


def params():
  return {'hidden_0': {'kernel': jnp.arange(6.).reshape(2, 3),
                       'bias': jnp.ones(3)},
          'output': {'kernel': -jnp.arange(6.).reshape(3, 2),
                     'bias': jnp.ones(2)}}


def test_ones_like_biases_are_none():
  m = pruning.ones_like(params())
  assert m['hidden_0']['bias'] is None and m['output']['bias'] is None
  assert m['hidden_0']['kernel'].dtype == jnp.bool_
  assert bool(m['output']['kernel'].all())


def test_ones_like_selector_regex():
  m = pruning.ones_like(params(), prunable=r'^hidden_\d+/kernel$')
  assert m['output']['kernel'] is None
  assert m['hidden_0']['kernel'].shape == (2, 3)


def test_ones_like_selector_matching_nothing_is_an_error():
  with pytest.raises(ValueError, match='matches no parameter'):
    pruning.ones_like(params(), prunable='nothing_like_this')


def test_apply_masks_zeroes_exactly_and_keeps_unprunable():
  p = params()
  m = pruning.ones_like(p)
  m['hidden_0']['kernel'] = jnp.array([[1, 0, 1], [0, 1, 0]], bool)
  out = pruning.apply_masks(p, m)
  np.testing.assert_array_equal(out['hidden_0']['kernel'],
                                [[0., 0., 2.], [0., 4., 0.]])
  np.testing.assert_array_equal(out['hidden_0']['bias'], p['hidden_0']['bias'])


def test_check_mask_tree_names_first_mismatching_path():
  p = params()
  m = pruning.ones_like(p)
  bad = {'hidden_0': m['hidden_0'], 'outptu': m['output']}
  with pytest.raises(ValueError, match="'output/bias'.*'outptu/bias'"):
    pruning.check_mask_tree(p, bad)
  m['output']['kernel'] = jnp.ones((2, 3), bool)
  with pytest.raises(ValueError, match="'output/kernel' has shape"):
    pruning.check_mask_tree(p, m)


def test_leaf_paths_of_lists_and_nested_dicts():
  tree = {'layers': [{'w': jnp.zeros(2)}, {'w': jnp.zeros(2)}]}
  assert pruning.leaf_paths(tree) == ['layers/0/w', 'layers/1/w']
  masks = pruning.ones_like(tree)
  assert pruning.prunable_paths(masks) == ['layers/0/w', 'layers/1/w']


def test_works_under_jit():
  p = params()
  m = pruning.ones_like(p)
  out = jax.jit(pruning.apply_masks)(p, m)
  np.testing.assert_array_equal(out['output']['kernel'], p['output']['kernel'])
