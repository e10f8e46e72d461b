"""Dynamic sparse training: SET and RigL mask updates (pure functions).

Both train a sparse network from scratch at a fixed density and, every
``update_every`` steps, move a fraction of each layer's connections:

* SET (Mocanu et al. 2018): drop the fraction ``zeta`` (0.3) of active
  weights with the smallest ``|w|``, regrow as many at random among the
  inactive ones;
* RigL (Evci et al. 2020): drop by ``|w|`` likewise, regrow the inactive
  connections with the largest dense-gradient magnitude ``|dL/dw|``; the
  fraction is ``alpha / 2 * (1 + cos(pi * t / t_end))`` (``alpha`` = 0.3)
  and no update happens from ``t_end`` = 75 % of training on.

Per layer, an update of fraction ``f`` drops ``k = min(round(f * active),
inactive)`` weights and grows exactly ``k``, so every layer keeps its count
at every step; candidates for growth are the connections inactive *before*
the update, so a weight dropped in an update is never regrown in the same
update. Selections go through ``lth_jax.pruning.selection`` (exact counts,
ties by index) and work on traced values (inside ``jax.jit`` and
``lax.cond``). The optax wrapper that applies them on schedule is
``lth_jax.pruning.sparse_optax``.

The ``rigl_gradient`` scorer (``scores.register_scorer``) is RigL's growth
criterion in the shared scorer signature.
"""
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import scores as scores_lib
from lth_jax.pruning import scoring
from lth_jax.pruning import selection

PyTree = Any
METHODS = ('set', 'rigl')


def cosine_fraction(step: Any, alpha: float, end_step: int) -> jax.Array:
  """RigL's drop fraction ``alpha / 2 * (1 + cos(pi * step / end_step))``.

  >>> [round(float(cosine_fraction(s, 0.3, 100)), 3) for s in (0, 50, 100)]
  [0.3, 0.15, 0.0]
  """
  t = jnp.minimum(jnp.asarray(step, jnp.float32), end_step) / max(end_step, 1)
  return alpha / 2 * (1 + jnp.cos(math.pi * t))


def is_update_step(step: Any, update_every: int, end_step: int
                   ) -> jax.Array:
  """Whether the step after ``step`` completed steps updates the masks:
  ``step`` a positive multiple of ``update_every`` below ``end_step``.

  >>> [bool(is_update_step(s, 100, 250)) for s in (0, 100, 200, 300)]
  [False, True, True, False]
  """
  step = jnp.asarray(step)
  return (step > 0) & (step % update_every == 0) & (step < end_step)


def drop_and_grow_leaf(weights: jax.Array, mask: jax.Array,
                       grow_scores: jax.Array, fraction: Any,
                       select: str = 'radix') -> jax.Array:
  """One layer's update: drop the smallest ``|w|``, grow the top scores.

  Args:
    weights: the layer's weights (ranked by ``|w|`` among active ones).
    mask: its bool mask.
    grow_scores: ranked among the inactive entries (higher = grow).
    fraction: the fraction of active weights moved (traced is fine).
    select: the selection algorithm (``selection.METHODS``; ``'bitwise'``
      compiles ~5x faster, ``'radix'`` runs faster on large layers).

  Returns:
    The new mask, with exactly as many True entries as ``mask``.

  >>> drop_and_grow_leaf(jnp.array([.5, -.1, 0., 0.]),
  ...                    jnp.array([True, True, False, False]),
  ...                    jnp.array([0., 0., 1., 2.]), 0.5)
  Array([ True, False, False,  True], dtype=bool)
  """
  active = selection.count_true([mask])[0]
  inactive = mask.size - active
  k = jnp.minimum(jnp.round(fraction * active).astype(active.dtype),
                  inactive)
  kept = selection.keep_top_k(weights, mask, active - k, absolute=True,
                              method=select)
  grown = selection.keep_top_k(grow_scores, ~mask, k, method=select)
  return kept | grown


def drop_and_grow(params: PyTree, masks: PyTree, grow_scores: PyTree,
                  fraction: Any, select: str = 'radix') -> PyTree:
  """``drop_and_grow_leaf`` on every prunable leaf (``None`` stays)."""
  return jax.tree.map(
      lambda m, p, g: None if m is None else drop_and_grow_leaf(
          p, m, g, fraction, select), masks, params, grow_scores,
      is_leaf=masks_lib.is_none)


def random_grow_scores(key: jax.Array, masks: PyTree) -> PyTree:
  """SET's growth scores: uniform noise per prunable leaf."""
  leaves, treedef = jax.tree.flatten(masks, is_leaf=masks_lib.is_none)
  keys = iter(jax.random.split(key, len(leaves)))
  return jax.tree.unflatten(treedef, [
      None if m is None else jax.random.uniform(next(keys), m.shape)
      for m in leaves])


def gradient_grow_scores(grads: PyTree, masks: PyTree) -> PyTree:
  """RigL's growth scores: ``|dL/dw|`` of the dense gradient."""
  return jax.tree.map(lambda m, g: None if m is None else jnp.abs(g),
                      masks, grads, is_leaf=masks_lib.is_none)


def update_masks(method: str, params: PyTree, masks: PyTree, grads: PyTree,
                 key: jax.Array, fraction: Any, select: str = 'radix'
                 ) -> PyTree:
  """New masks of a SET or RigL update.

  Args:
    method: ``'set'`` or ``'rigl'``.
    params: current weights (zero where masked).
    masks: current masks.
    grads: the dense gradient at ``params`` (RigL; unused by SET).
    key: SET's random growth (unused by RigL).
    fraction: the fraction of each layer's active weights moved.
    select: the selection algorithm (see ``drop_and_grow_leaf``).

  Returns:
    Masks with each leaf's count unchanged.
  """
  if method == 'set':
    grow = random_grow_scores(key, masks)
  elif method == 'rigl':
    grow = gradient_grow_scores(grads, masks)
  else:
    raise errors.InputError(
        f'unknown dynamic sparse training method {method!r}; '
        f'use one of {", ".join(METHODS)}.')
  return drop_and_grow(params, masks, grow, fraction, select)


@scoring.register_scorer('rigl_gradient', needs=('loss_fn', 'batch'))
def rigl_gradient(params: PyTree, masks: PyTree, *,
                  loss_fn: Callable[..., jax.Array] | None = None,
                  batch: Any = None, key: jax.Array | None = None,
                  **unused: Any) -> PyTree:
  """RigL's growth score ``|dL/dw|`` at the masked weights, every entry.

  Masked-out weights are zero in the forward pass but get their (dense)
  gradient: the score of connecting them.

  >>> lin = scores_lib.classification_loss(lambda p, x: x @ p['w'])
  >>> s = rigl_gradient({'w': jnp.array([[1., 0.]])},
  ...                   {'w': jnp.array([[True, False]])}, loss_fn=lin,
  ...                   batch=(jnp.ones((1, 1)), jnp.array([1])))
  >>> bool(s['w'][0, 1] > 0)
  True
  """
  del key
  scoring.require('rigl_gradient', loss_fn=loss_fn, batch=batch)
  masks_lib.check_mask_tree(params, masks)
  grads = jax.grad(loss_fn)(masks_lib.apply_masks(params, masks), batch)
  return gradient_grow_scores(grads, masks)
