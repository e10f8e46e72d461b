"""Sparse training as an ``optax.GradientTransformation``.

``wrap_optax(inner, method, ...)`` keeps the masks in the optimizer state
and applies mask updates on schedule (as jaxpruner's ``wrap_optax`` does),
so any Flax/optax loop trains sparse by changing three lines:

>>> import optax
>>> params = {'w': jnp.ones((8, 8)), 'b': jnp.zeros(8)}
>>> tx = wrap_optax(optax.sgd(0.1), 'rigl', density=0.25, total_steps=400,
...                 key=jax.random.key(0))            # line 1
>>> opt_state = tx.init(params)                       # line 2
>>> params = masked_params(params, opt_state)         # line 3
>>> grads = jax.tree.map(jnp.ones_like, params)       # your loss's gradient
>>> updates, opt_state = tx.update(grads, opt_state, params)
>>> params = optax.apply_updates(params, updates)
>>> int((params['w'] != 0).sum()), int(current_masks(opt_state)['w'].sum())
(16, 16)

The returned updates land every masked weight on exactly zero, so the
user's loss sees the sparse network without multiplying by masks, and its
gradient at the zeros is the dense gradient RigL grows by. Methods:

* ``'static'``: a fixed mask (one-shot pruning + fine-tuning);
* ``'set'``, ``'rigl'``: ``lth_jax.pruning.dst`` updates every
  ``update_every`` steps before ``stop_fraction`` of ``total_steps``; SET
  moves a constant ``drop_fraction``, RigL a cosine-decayed one.

On an update step the masks change first (from the current weights and
the incoming dense gradient), then the inner optimizer steps on the
gradient restricted to the new masks. Regrown weights start at exactly
zero: they take no step on the update step, and the inner optimizer's
statistics (any state subtree shaped like the params: Adam's moments,
momentum) are reset to zero there.
"""
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from lth_jax import errors
from lth_jax.pruning import distributions
from lth_jax.pruning import dst
from lth_jax.pruning import masks as masks_lib

PyTree = Any
METHODS = ('static',) + dst.METHODS


class SparseState(NamedTuple):
  """The wrapper's state: steps taken, masks, key, inner optimizer state."""
  count: jax.Array
  masks: PyTree
  key: jax.Array
  inner_state: Any


def _restrict(tree: PyTree, masks: PyTree) -> PyTree:
  """``tree`` with zeros where masks are False (None masks: unchanged)."""
  return jax.tree.map(
      lambda m, x: x if m is None else jnp.where(m, x, jnp.zeros_like(x)),
      masks, tree, is_leaf=masks_lib.is_none)


def _reset_like_params(state: Any, params: PyTree, grown: PyTree) -> Any:
  """Zeros the ``grown`` entries of every state subtree shaped like
  ``params`` (moments, momenta); counts and schedules are untouched."""
  structure = jax.tree.structure(params)

  def shaped_like_params(x):
    return (not isinstance(x, jax.Array)
            and jax.tree.structure(x) == structure and
            all(jnp.shape(a) == jnp.shape(p) for a, p in zip(
                jax.tree.leaves(x), jax.tree.leaves(params))))

  def reset(x):
    if not shaped_like_params(x):
      return x
    return jax.tree.map(
        lambda g, a: a if g is None else jnp.where(g, jnp.zeros_like(a), a),
        grown, x, is_leaf=masks_lib.is_none)
  return jax.tree.map(reset, state, is_leaf=shaped_like_params)


def wrap_optax(inner: optax.GradientTransformation, method: str, *,
               density: float | None = None, total_steps: int = 0,
               distribution: str = 'erk', update_every: int = 100,
               drop_fraction: float = 0.3, stop_fraction: float = 0.75,
               key: jax.Array | None = None,
               prunable: str = masks_lib.DEFAULT_PRUNABLE,
               masks: PyTree = None, select: str = 'radix'
               ) -> optax.GradientTransformation:
  """``inner`` training a sparse network (see the module docstring).

  Args:
    inner: the optimizer of the active weights.
    method: ``'static'``, ``'set'`` or ``'rigl'``.
    density: the fraction of prunable weights kept (ignored if ``masks``
      is given).
    total_steps: the training length (SET/RigL's schedule).
    distribution: ``'uniform'``, ``'er'`` or ``'erk'`` (random initial
      masks; ignored if ``masks`` is given).
    update_every: steps between mask updates (``ΔT``).
    drop_fraction: SET's ``zeta``; RigL's initial ``alpha``.
    stop_fraction: no mask update from this fraction of training on.
    key: PRNG key of the initial masks and SET's growth.
    prunable: regex of the prunable parameter paths.
    masks: initial masks (e.g. from one-shot pruning); default random
      ``distribution`` masks at ``density``.
    select: the selection algorithm of the updates (``'radix'`` or
      ``'bitwise'``, see ``dst.drop_and_grow_leaf``).

  Returns:
    An ``optax.GradientTransformation`` whose state is a ``SparseState``.
  """
  if method not in METHODS:
    raise errors.InputError(
        f'unknown sparse training method {method!r}; use one '
        f'of {", ".join(METHODS)}.')
  if masks is None and density is None:
    raise errors.InputError(
        'wrap_optax needs density=... (or initial masks=...).')
  if method != 'static' and total_steps < 1:
    raise errors.InputError(f'{method} needs total_steps=... (its update '
                     'schedule), got {total_steps}.')
  if update_every < 1 or not 0.0 <= drop_fraction < 1.0:
    raise errors.InputError(f'update_every={update_every} must be >= 1 and '
                     f'drop_fraction={drop_fraction} in [0, 1).')
  key = jax.random.key(0) if key is None else key
  end_step = int(stop_fraction * total_steps)

  def init_fn(params):
    start = masks
    if start is None:
      dense = masks_lib.ones_like(params, prunable)
      start = distributions.random_masks(key, dense, density, distribution)
    masks_lib.check_mask_tree(params, start)
    return SparseState(jnp.zeros([], jnp.int32), start,
                       jax.random.fold_in(key, 1), inner.init(params))

  def fraction(step):
    if method == 'rigl':
      return dst.cosine_fraction(step, drop_fraction, end_step)
    return jnp.float32(drop_fraction)

  def update_fn(updates, state, params=None):
    if params is None:
      raise errors.InputError('the sparse optax wrapper needs params: call '
                       'tx.update(grads, opt_state, params).')
    old = state.masks

    def change(inner_state):
      new = dst.update_masks(method, params, old, updates,
                             jax.random.fold_in(state.key, state.count),
                             fraction(state.count), select)
      grown = jax.tree.map(lambda n, o: None if n is None else n & ~o,
                           new, old, is_leaf=masks_lib.is_none)
      keep = jax.tree.map(lambda n, o: None if n is None else n & o,
                          new, old, is_leaf=masks_lib.is_none)
      return new, keep, _reset_like_params(inner_state, params, grown)

    if method == 'static':
      new, keep, inner_state = old, old, state.inner_state
    else:
      new, keep, inner_state = jax.lax.cond(
          is_update(state.count), change,
          lambda inner_state: (old, old, inner_state), state.inner_state)
    steps, inner_state = inner.update(_restrict(updates, new), inner_state,
                                      params)
    # Kept weights take their step; the rest land on exactly zero.
    out = jax.tree.map(
        lambda k, u, p: u if k is None else jnp.where(k, u, -p), keep,
        steps, params, is_leaf=masks_lib.is_none)
    return out, SparseState(state.count + 1, new, state.key, inner_state)

  def is_update(count):
    return dst.is_update_step(count, update_every, end_step)

  return optax.GradientTransformation(init_fn, update_fn)


def find_state(opt_state: Any) -> SparseState:
  """The ``SparseState`` inside ``opt_state`` (e.g. in an ``optax.chain``).

  Raises:
    ValueError: if there is none.
  """
  found = []

  def visit(x):
    if isinstance(x, SparseState):
      found.append(x)
    return x
  jax.tree.map(visit, opt_state, is_leaf=lambda x: isinstance(x,
                                                              SparseState))
  if not found:
    raise errors.InputError('no SparseState in this optimizer state; build the '
                     'optimizer with lth_jax.pruning.sparse_optax.wrap_optax.')
  return found[0]


def current_masks(opt_state: Any) -> PyTree:
  """The masks the wrapper holds now."""
  return find_state(opt_state).masks


def masked_params(params: PyTree, opt_state: Any) -> PyTree:
  """``params`` with masked-out weights set to zero (before step 0)."""
  return masks_lib.apply_masks(params, current_masks(opt_state))
