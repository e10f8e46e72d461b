"""Structured masks: N:M sparsity and whole-channel (filter) pruning.

Same API shape as ``magnitude``: pure functions ``(params, masks, ...) ->
masks`` over any params pytree, where ``None`` mask leaves are never pruned,
masked weights are never revived (new masks are subsets of the old ones),
and ties go to the lower index. Masks stay ``bool`` arrays shaped like the
params, so ``apply_masks`` and the metrics work unchanged.

Layouts follow Flax: a Dense kernel is ``[in, out]`` and a conv kernel
``[h, w, in, out]``; pass ``axis`` for other layouts (e.g. ``[out, in]``
weights of Equinox or PyTorch-style models). Prunable leaves with fewer than
two dimensions are left unchanged.

The IMP strategies ``'nm'`` and ``'channel'`` that read these from a config
are adapters in ``lth_jax.lottery.strategies``.
"""
import functools
from typing import Any

import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax.pruning import magnitude
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import selection
from lth_jax.pruning import tree_paths

PyTree = Any
NORMS = ('l1', 'l2')


@functools.partial(jax.jit, static_argnames=('n', 'm', 'axis'))
def n_m_mask(scores: jax.Array, mask: jax.Array, n: int, m: int,
             axis: int = -2) -> jax.Array:
  """Keeps the ``n`` highest scores in each group of ``m`` along ``axis``.

  Groups are ``m`` consecutive entries along ``axis`` (for every index of
  the other axes); only unmasked entries compete, so a group with fewer
  than ``n`` unmasked entries keeps them all. If the axis length is not a
  multiple of ``m``, the last, shorter group also keeps at most ``n``.

  >>> n_m_mask(jnp.array([[4.], [1.], [3.], [2.]]), jnp.ones((4, 1), bool),
  ...          2, 4).ravel()
  Array([ True, False,  True, False], dtype=bool)
  """
  if not 1 <= n <= m:
    raise errors.InputError(
        f'N:M sparsity needs 1 <= N <= M, got {n}:{m}; use e.g. '
        '2:4 (keep 2 of every 4 weights).')
  key = jnp.moveaxis(selection.sort_key(scores), axis, -1)
  keep = jnp.moveaxis(jnp.asarray(mask, jnp.bool_), axis, -1)
  length = key.shape[-1]
  pad = -length % m
  widths = [(0, 0)] * (key.ndim - 1) + [(0, pad)]
  groups = key.shape[:-1] + ((length + pad) // m, m)
  key = jnp.pad(key, widths).reshape(groups)
  keep = jnp.pad(keep, widths).reshape(groups)
  # rank[j]: unmasked entries of j's group that come before j (higher
  # score, or equal score and lower index).
  rank = jnp.zeros(groups, jnp.int32)
  position = jnp.arange(m)
  for i in range(m):
    other = key[..., i:i + 1]
    before = (other > key) | ((other == key) & (i < position))
    rank += (before & keep[..., i:i + 1]).astype(jnp.int32)
  new = (keep & (rank < n)).reshape(key.shape[:-2] + (length + pad,))
  return jnp.moveaxis(new[..., :length], -1, axis)


def prune_n_m(params: PyTree, masks: PyTree, n: int = 2, m: int = 4, *,
              axis: int = -2, scores: PyTree | None = None) -> PyTree:
  """N:M sparsity: at most ``n`` of every ``m`` consecutive input weights.

  Args:
    params: the weights to rank by ``|w|``.
    masks: current masks (``None`` leaves are never pruned).
    n: weights kept per group.
    m: group size.
    axis: the input axis the groups run along (``-2``: ``in`` of a Flax
      Dense ``[in, out]`` or conv ``[h, w, in, out]`` kernel).
    scores: optional scores to rank instead of ``|params|``.

  Returns:
    New masks, a subset of ``masks``.

  >>> p = {'kernel': jnp.array([[.1, -.5], [.3, .2], [-.4, .1], [.2, .6]])}
  >>> prune_n_m(p, {'kernel': jnp.ones((4, 2), bool)}, 2, 4)['kernel']
  Array([[False,  True],
         [ True, False],
         [ True, False],
         [False,  True]], dtype=bool)
  """
  masks_lib.check_mask_tree(params, masks)

  m_leaves, treedef = jax.tree.flatten(masks, is_leaf=masks_lib.is_none)
  # |w| of one leaf at a time, not of the whole tree.
  s_leaves = treedef.flatten_up_to(params if scores is None else scores)
  for i, (mask, s) in enumerate(zip(m_leaves, s_leaves)):
    if mask is not None and jnp.ndim(mask) >= 2:
      m_leaves[i] = n_m_mask(jnp.abs(s) if scores is None else s, mask, n,
                             m, axis)
  return jax.tree.unflatten(treedef, m_leaves)


@functools.partial(jax.jit, static_argnames=('norm', 'axis'))
def channel_norms(param: jax.Array, mask: jax.Array, norm: str = 'l2',
                  axis: int = -1) -> jax.Array:
  """L1 or L2 norm of each channel's unmasked weights (one per ``axis`` index).

  >>> channel_norms(jnp.array([[3., 1.], [4., -2.]]), jnp.ones((2, 2), bool))
  Array([5.      , 2.236068], dtype=float32)
  """
  if norm not in NORMS:
    raise errors.InputError(
        f'channel norm {norm!r} is unknown; use one of {NORMS}.')
  w = jnp.where(mask, param, jnp.zeros_like(param)).astype(jnp.float32)
  others = tuple(a for a in range(w.ndim) if a != axis % w.ndim)
  if norm == 'l1':
    return jnp.sum(jnp.abs(w), axis=others)
  return jnp.sqrt(jnp.sum(w * w, axis=others))


def prune_channels(params: PyTree, masks: PyTree, rates: magnitude.Rates,
                   *, norm: str = 'l2', level: int | None = None,
                   axis: int = -1) -> PyTree:
  """Removes whole output channels (filters) with the smallest norm.

  A channel is alive while any of its weights is unmasked. Each prunable
  leaf loses ``rate`` of its alive channels; counts are exact as in
  ``magnitude.prune_layerwise`` (with ``level``, a leaf of ``c`` channels
  keeps ``round((1 - rate)**level * c)``). Ties go to the lower channel
  index. Biases and batch-norm parameters are left to the caller.

  Args:
    params: the weights (e.g. trained weights of a level).
    masks: current masks (``None`` leaves are never pruned).
    rates: one rate for all leaves, or ``{path_regex: rate}`` (first match).
    norm: ``'l1'`` or ``'l2'`` norm of each filter's unmasked weights.
    level: the level the new masks are for (>= 1), for exact counts.
    axis: the output-channel axis (``-1`` for Flax kernels).

  Returns:
    New masks, a subset of ``masks``.

  >>> p = {'kernel': jnp.array([[1., -3., .5], [1., 2., .5]])}
  >>> prune_channels(p, {'kernel': jnp.ones((2, 3), bool)}, 1 / 3,
  ...                level=1)['kernel']
  Array([[ True,  True, False],
         [ True,  True, False]], dtype=bool)
  """
  if norm not in NORMS:
    raise errors.InputError(
        f'channel norm {norm!r} is unknown; use one of {NORMS}.')
  masks_lib.check_mask_tree(params, masks)

  def prune_leaf(path, mask, param):
    if mask is None or jnp.ndim(mask) < 2:
      return mask
    rate = magnitude.rate_for_path(path, rates)
    axis_ = axis % jnp.ndim(mask)
    norms, alive = _norms_and_alive(param, mask, norm, axis_)
    k = magnitude.target_count(alive.size, jnp.sum(alive, dtype=jnp.int32),
                               rate, level)
    return _keep_channels(mask, selection.keep_top_k(norms, alive, k), axis_)

  return tree_paths.map_with_path(prune_leaf, masks, params,
                                  is_leaf=masks_lib.is_none)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _norms_and_alive(param, mask, norm, axis):
  others = tuple(a for a in range(mask.ndim) if a != axis)
  return channel_norms(param, mask, norm, axis), jnp.any(mask, axis=others)


@functools.partial(jax.jit, static_argnums=2)
def _keep_channels(mask, kept, axis):
  others = tuple(a for a in range(mask.ndim) if a != axis)
  return mask & jnp.expand_dims(kept, others)
