"""Masks: pytrees shaped like the params, with ``None`` for unprunable leaves.

A mask leaf is a ``bool`` array of the param's shape (1 byte per weight; see
``compact`` notes in the README) or ``None`` where the parameter is never
pruned (biases, batch-norm scales by default). Every function here is pure and
works on any params pytree: Flax, Haiku, Equinox leaves, NNX ``State``.
"""
import re
from typing import Any

import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax.pruning import tree_paths

PyTree = Any

#: Default prunable selector: weight matrices and conv kernels, not biases.
DEFAULT_PRUNABLE = r'(^|/)(kernel|weight|w)(/value)?$'


def is_none(x: Any) -> bool:
  """``is_leaf`` for mask trees: a ``None`` mask leaf is unprunable."""
  return x is None


def is_prunable(path: str, prunable: str) -> bool:
  """Whether ``path`` matches the ``prunable`` regex (``re.search``)."""
  return re.search(prunable, path) is not None


def ones_like(params: PyTree, prunable: str = DEFAULT_PRUNABLE) -> PyTree:
  """All-ones masks for the leaves whose path matches ``prunable``.

  >>> m = ones_like({'dense': {'kernel': jnp.zeros((2, 3)),
  ...                          'bias': jnp.zeros(3)}})
  >>> m['dense']['bias'] is None, m['dense']['kernel'].dtype
  (True, dtype('bool'))
  """
  try:
    re.compile(prunable)
  except re.error as e:
    raise errors.InputError(
        f'prunable selector {prunable!r} is not a valid regex ({e}); pass a '
        "regex over parameter paths such as r'kernel$'.") from e
  masks = tree_paths.map_with_path(
      lambda path, p: (jnp.ones(jnp.shape(p), jnp.bool_)
                       if is_prunable(path, prunable) else None), params)
  if not any(m is not None for m in jax.tree.leaves(masks)):
    raise errors.InputError(
        f'prunable selector {prunable!r} matches no parameter; paths are: '
        f'{tree_paths.leaf_paths(params)[:8]}')
  return masks


def apply_masks(params: PyTree, masks: PyTree) -> PyTree:
  """Returns ``params`` with masked-out entries set to exactly zero.

  >>> apply_masks({'w': jnp.array([1., 2.])}, {'w': jnp.array([True, False])})
  {'w': Array([1., 0.], dtype=float32)}
  """
  return jax.tree.map(
      lambda m, p: p if m is None else jnp.where(m, p, jnp.zeros_like(p)),
      masks, params, is_leaf=is_none)


def mask_leaves(masks: PyTree) -> list[jax.Array]:
  """The non-``None`` mask arrays, in flattening order."""
  return [m for m in jax.tree.leaves(masks, is_leaf=is_none) if m is not None]


def prunable_paths(masks: PyTree) -> list[str]:
  """Paths of the prunable (non-``None``) leaves of a mask tree."""
  flat, _ = jax.tree_util.tree_flatten_with_path(masks, is_leaf=is_none)
  return [tree_paths.path_to_str(p) for p, m in flat if m is not None]


def check_mask_tree(params: PyTree, masks: PyTree) -> None:
  """Raises ``ValueError`` naming the first path where masks and params differ.

  Checks the tree structure and, per prunable leaf, the shape.
  """
  p_flat, _ = jax.tree_util.tree_flatten_with_path(params)
  m_flat, _ = jax.tree_util.tree_flatten_with_path(masks, is_leaf=is_none)
  p_paths = [tree_paths.path_to_str(p) for p, _ in p_flat]
  m_paths = [tree_paths.path_to_str(p) for p, _ in m_flat]
  for i, (pp, mp) in enumerate(zip(p_paths, m_paths)):
    if pp != mp:
      raise errors.InputError(
          f'mask tree does not match the params at leaf {i}: params have '
          f'{pp!r}, masks have {mp!r}. Build masks from these params with '
          'lth_jax.ones_like(params) (or load the masks saved for this model).')
  if len(p_paths) != len(m_paths):
    short, extra = ('masks', p_paths) if len(m_paths) < len(p_paths) else (
        'params', m_paths)
    first = extra[min(len(p_paths), len(m_paths))]
    raise errors.InputError(
        f'mask tree does not match the params: {short} lack {first!r}. '
        'Build masks from these params with lth_jax.ones_like(params).')
  for path, (_, p), (_, m) in zip(p_paths, p_flat, m_flat):
    if m is not None and tuple(jnp.shape(m)) != tuple(jnp.shape(p)):
      raise errors.InputError(
          f'mask for {path!r} has shape {tuple(jnp.shape(m))} but the param '
          f'has shape {tuple(jnp.shape(p))}; masks must be shaped like params.')
