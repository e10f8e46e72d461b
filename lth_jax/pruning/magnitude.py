"""Magnitude pruning: layer-wise (rates per path regex) and global.

A rate is the fraction of the *remaining* weights pruned at one level. With
``level=L`` the counts are exact against the dense size: a leaf of ``n``
weights keeps ``round((1 - p)**L * n)`` (Python's round, half to even), so
rounding never compounds over levels. Without ``level``, a leaf with ``r``
remaining weights keeps ``round((1 - p) * r)``.
"""
import re
from typing import Any, Mapping

import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import selection
from lth_jax.pruning import tree_paths

PyTree = Any
Rates = float | Mapping[str, float]


def check_rate(rate: float, what: str = 'pruning rate') -> float:
  """Returns ``rate`` as a float, or raises if it is outside [0, 1)."""
  rate = float(rate)
  if not 0.0 <= rate < 1.0:
    raise errors.InputError(
        f'{what} {rate} is outside [0, 1): it is the fraction of the remaining '
        'weights removed per level, e.g. 0.2.')
  return rate


def rate_for_path(path: str, rates: Rates) -> float:
  """The rate of the first regex in ``rates`` that matches ``path``."""
  if not isinstance(rates, Mapping):
    return check_rate(rates)
  for pattern, rate in rates.items():
    if re.search(pattern, path):
      return check_rate(rate, f'pruning rate for {pattern!r}')
  raise errors.InputError(
      f'no pruning rate matches the prunable parameter {path!r}; rates are '
      f'given for {list(rates)}. Add a catch-all entry such as ".*": 0.2.')


def magnitude_scores(params: PyTree, masks: PyTree) -> PyTree:
  """Scores ``|w|`` for prunable leaves, ``None`` elsewhere."""
  return jax.tree.map(lambda m, p: None if m is None else jnp.abs(p),
                      masks, params, is_leaf=masks_lib.is_none)


def target_count(size: int, remaining: Any, rate: float,
                 level: int | None) -> Any:
  """How many weights a group keeps after one more pruning step."""
  if level is None:
    return jnp.round(remaining * (1.0 - rate)).astype(jnp.int32)
  return jnp.minimum(remaining, round((1.0 - rate) ** level * size))


def prune_layerwise(params: PyTree, masks: PyTree, rates: Rates,
                    level: int | None = None, scores: PyTree | None = None
                    ) -> PyTree:
  """Prunes each prunable leaf by its own rate, keeping the largest ``|w|``.

  Args:
    params: the weights to rank (e.g. the trained weights of a level).
    masks: current masks (``None`` leaves are never pruned).
    rates: one rate for all leaves, or ``{path_regex: rate}`` (first match).
    level: the level the new masks are for (>= 1); makes counts exact
      against the dense size, see the module docstring.
    scores: optional scores to rank instead of ``|params|``.

  Returns:
    New masks, a subset of ``masks``.

  >>> p = {'w': jnp.array([.1, -.5, .3, .2]), 'b': jnp.zeros(1)}
  >>> m = masks_lib.ones_like(p)
  >>> m = {'w': jnp.ones(4, bool), 'b': None}
  >>> prune_layerwise(p, m, 0.5, level=1)['w']
  Array([False,  True,  True, False], dtype=bool)
  """
  masks_lib.check_mask_tree(params, masks)
  # Without explicit scores, |w| is ranked in place (no copy of the weights).
  absolute = scores is None
  ranked = params if absolute else scores

  def prune_leaf(path, m, s):
    if m is None:
      return None
    rate = rate_for_path(path, rates)
    k = target_count(m.size, selection.count_true([m])[0], rate, level)
    return selection.keep_top_k(s, m, k, absolute=absolute)

  return tree_paths.map_with_path(prune_leaf, masks, ranked,
                                  is_leaf=masks_lib.is_none)


def prune_global(params: PyTree, masks: PyTree, rate: float,
                 level: int | None = None, scores: PyTree | None = None
                 ) -> PyTree:
  """Prunes a fraction of the remaining prunable weights with one threshold.

  The smallest ``|w|`` across all prunable leaves go first (open_lth's
  ``sparse_global``; no per-layer normalisation). Arguments as in
  ``prune_layerwise``, with one ``rate``.

  >>> p = {'a': jnp.array([.1, .9]), 'b': jnp.array([.5, .2])}
  >>> m = {'a': jnp.ones(2, bool), 'b': jnp.ones(2, bool)}
  >>> prune_global(p, m, 0.5, level=1)
  {'a': Array([False,  True], dtype=bool), 'b': Array([ True, False], dtype=bool)}
  """
  rate = check_rate(rate)
  masks_lib.check_mask_tree(params, masks)
  absolute = scores is None  # rank |w| in place, without a copy
  leaves = masks_lib.mask_leaves(masks)
  size = sum(int(m.size) for m in leaves)
  k = target_count(size, sum(selection.count_true(leaves)), rate, level)
  return selection.top_k_global(params if absolute else scores, masks, k,
                                absolute=absolute)
