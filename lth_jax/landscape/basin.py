"""How much of a trained solution one-shot pruning can remove.

Paul et al. 2023 ("Unmasking the Lottery Ticket Hypothesis") read IMP as a
sequence of projections: level L's solution ``w`` is projected onto a
sparser mask (``w * m_f``, magnitude pruning of a fraction ``f`` of the
remaining weights) and retraining must find a solution in the same basin.
The largest fraction whose projection stays in the basin is set by the
curvature. Two numbers per solution:

* measured (``max_prune_fraction``): the largest ``f`` whose projection
  raises the loss by at most ``threshold``,
  ``L(w * m_f) - L(w * m) <= threshold``, found by bisection (the loss
  increase grows with ``f`` because magnitude masks are nested);
* predicted (``predicted_max_fraction``): the largest ``f`` with
  ``0.5 * lambda_max * ||delta(f)||^2 <= threshold``, where
  ``delta(f) = w * m - w * m_f`` is the projection's displacement and
  ``lambda_max`` the top eigenvalue of the masked Hessian at ``w``. At a
  minimum (gradient ~ 0) the second-order loss increase is
  ``0.5 delta' H delta <= 0.5 lambda_max ||delta||^2``, so this rule is a
  conservative (lower) estimate of the measured fraction while the
  quadratic model holds: a displacement off the top eigendirections costs
  less than the bound.

``prune(params, masks, f) -> new_masks`` is the caller's (e.g.
``pruning.prune_layerwise`` with the trunk's per-layer rates).
"""
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax.pruning import masks as masks_lib

PyTree = Any
PruneFn = Callable[[PyTree, PyTree, float], PyTree]
#: ``loss_at(params, masks) -> float``: the loss of ``params * masks``.
LossAt = Callable[[PyTree, PyTree], float]


class Bisection(NamedTuple):
  """The largest passing fraction and every fraction tried.

  Attributes:
    fraction: the largest tried ``f`` that passed (``lo`` if none did).
    tried: ``[(f, value, passed), ...]`` in the order tried.
  """
  fraction: float
  tried: list[tuple[float, float, bool]]


def bisect(value: Callable[[float], float], threshold: float,
           lo: float = 0.0, hi: float = 0.99, steps: int = 10) -> Bisection:
  """The largest ``f`` in [lo, hi] with ``value(f) <= threshold``.

  Assumes ``value`` grows with ``f`` and passes at ``lo``; ``hi`` is tried
  first, then ``steps`` halvings of the interval.

  >>> round(bisect(lambda f: f ** 2, 0.25, steps=20).fraction, 4)
  0.5
  """
  if not 0.0 <= lo < hi < 1.0:
    raise errors.InputError(
        f'need 0 <= lo < hi < 1 (fractions of the remaining '
        f'weights), got lo={lo!r}, hi={hi!r}.')
  tried = []

  def passes(f):
    v = float(value(f))
    tried.append((float(f), v, v <= threshold))
    return v <= threshold

  if passes(hi):
    return Bisection(hi, tried)
  for _ in range(steps):
    mid = (lo + hi) / 2
    if passes(mid):
      lo = mid
    else:
      hi = mid
  return Bisection(lo, tried)


def projection_sq_norm(params: PyTree, masks: PyTree, new_masks: PyTree
                       ) -> jax.Array:
  """``||params * masks - params * new_masks||^2`` (the removed weights).

  >>> p = {'w': jnp.array([1., 2., 3.]), 'b': jnp.ones(1)}
  >>> m = {'w': jnp.array([True, True, False]), 'b': None}
  >>> float(projection_sq_norm(p, m, {'w': jnp.array([False, True, False]),
  ...                                 'b': None}))
  1.0
  """
  old = masks_lib.apply_masks(params, masks)
  new = masks_lib.apply_masks(params, new_masks)
  return sum(jnp.sum((a - b) ** 2) for a, b in
             zip(jax.tree.leaves(old), jax.tree.leaves(new)))


def max_prune_fraction(loss_at: LossAt, params: PyTree, masks: PyTree,
                       prune: PruneFn, threshold: float, hi: float = 0.99,
                       steps: int = 10) -> Bisection:
  """The largest one-shot fraction whose projection stays in the basin.

  The criterion is the loss increase ``L(w * m_f) - L(w * m) <=
  threshold`` (see the module docstring).
  """
  base = float(loss_at(params, masks))
  return bisect(lambda f: float(loss_at(params, prune(params, masks, f)))
                - base, threshold, hi=hi, steps=steps)


def predicted_max_fraction(params: PyTree, masks: PyTree, prune: PruneFn,
                           lambda_max: float, threshold: float,
                           hi: float = 0.99, steps: int = 10) -> Bisection:
  """The largest ``f`` with ``0.5 * lambda_max * ||delta(f)||^2 <=
  threshold`` (the module docstring's rule)."""
  if not lambda_max > 0:
    raise errors.InputError(
        f'lambda_max must be > 0 (the top Hessian eigenvalue '
        f'of a trained solution), got {lambda_max!r}.')
  return bisect(lambda f: 0.5 * lambda_max * float(projection_sq_norm(
      params, masks, prune(params, masks, f))), threshold, hi=hi,
                steps=steps)
