"""Readable '/'-joined paths for the leaves of any pytree.

Paths are what prunable selectors and per-layer rates match against, e.g.
``'hidden_0/kernel'`` for a Flax param dict, ``'layers/0/weight'`` for an
Equinox module or a list, ``'Dense_0/kernel/value'`` for an NNX ``State``.
"""
from typing import Any, Callable

import jax

PyTree = Any


def _key_name(key: Any) -> str:
  for attr in ('key', 'name', 'idx'):
    if hasattr(key, attr):
      return str(getattr(key, attr))
  return str(key)


def path_to_str(path: tuple[Any, ...]) -> str:
  """Joins a jax key path into ``'a/b/0/c'``."""
  return '/'.join(_key_name(k) for k in path)


def leaf_paths(tree: PyTree, is_leaf: Callable[[Any], bool] | None = None
               ) -> list[str]:
  """Returns the path of every leaf of ``tree``, in flattening order.

  >>> leaf_paths({'b': 1, 'a': {'kernel': 2}})
  ['a/kernel', 'b']
  """
  flat, _ = jax.tree_util.tree_flatten_with_path(tree, is_leaf=is_leaf)
  return [path_to_str(p) for p, _ in flat]


def map_with_path(fn: Callable[..., Any], tree: PyTree, *rest: PyTree,
                  is_leaf: Callable[[Any], bool] | None = None) -> PyTree:
  """``jax.tree.map`` whose function also receives the leaf's string path."""
  return jax.tree_util.tree_map_with_path(
      lambda p, *xs: fn(path_to_str(p), *xs), tree, *rest, is_leaf=is_leaf)
