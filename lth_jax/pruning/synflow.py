"""SynFlow (Tanaka et al. 2020): iterative, data-free synaptic flow scores.

``R = 1^T (prod |W|) 1`` on an all-ones input with absolute parameters;
a weight's score is ``|w| * dR/d|w|``. ``synflow`` runs the iterative
rounds (100 as published) and returns scores whose global top-k is the
iterative mask exactly; ``synflow_round`` is one round.
"""
import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import scoring
from lth_jax.pruning import selection
from lth_jax.pruning.scores import invert
from lth_jax.pruning.scores import LossFn

PyTree = Any


def power_of_two_scale(x: jax.Array, mask: jax.Array) -> jax.Array:
  """The power of two nearest a layer's gain on an all-ones input.

  The gain is the mean L1 norm of an output unit's unmasked incoming
  weights, ``sum |x * mask| / x.shape[-1]`` (Flax kernels end with the
  output axis); 1 if it is 0. Dividing by a power of two is exact in
  floating point, so rescaled weights carry no rounding error.

  >>> float(power_of_two_scale(jnp.array([[3., 1.], [5., 100.]]),
  ...                          jnp.array([[True, True], [True, False]])))
  4.0
  """
  total = jnp.sum(jnp.where(mask, jnp.abs(x), 0))
  gain = total / x.shape[-1]
  gain = jnp.where(gain > 0, gain, 1.0)
  return jnp.exp2(jnp.round(jnp.log2(gain))).astype(x.dtype)


def _compute_dtype() -> Any:
  return jax.dtypes.canonicalize_dtype(jnp.float64)


def _synflow_objective(params: PyTree, masks: PyTree,
                       output_fn: Callable[[PyTree, jax.Array], jax.Array],
                       input_shape: tuple[int, ...], rescale: bool
                       ) -> tuple[Callable[[PyTree], jax.Array], PyTree]:
  """``(R, effective)``: ``R(p) = sum(output_fn(p, ones))`` and the
  absolute masked (optionally rescaled) params it is evaluated at."""
  dtype = _compute_dtype()
  absolute = jax.tree.map(lambda p: jnp.abs(p).astype(dtype), params)
  effective = masks_lib.apply_masks(absolute, masks)
  if rescale:
    effective = jax.tree.map(
        lambda m, p: p if m is None else p / power_of_two_scale(p, m),
        masks, effective, is_leaf=masks_lib.is_none)
  ones = jnp.ones(input_shape, dtype)

  def objective(p):
    return jnp.sum(output_fn(p, ones).astype(dtype))
  return objective, effective


def synflow_round(params: PyTree, masks: PyTree,
                  output_fn: Callable[[PyTree, jax.Array], jax.Array],
                  input_shape: tuple[int, ...], rescale: bool
                  ) -> tuple[PyTree, jax.Array]:
  """One SynFlow evaluation: scores ``|w| * dR/d|w|`` and ``R``.

  ``R = sum(output_fn(|params| * masks, ones(input_shape)))`` in float64
  where x64 is enabled, float32 otherwise. With ``rescale``, each prunable
  leaf is first divided by a power of two near its gain
  (``power_of_two_scale``), so that ``R`` stays in range. For a network
  that is positively homogeneous in each layer's kernel (a chain of
  dense/conv layers with zero biases and batch norm, as MLPs, Conv-2/4/6
  and VGG at initialisation) this multiplies every score by the same
  power of two, so the ranking is exactly unchanged. It is *not* exact
  where branches are added (residual blocks): there, enable float64.
  """
  objective, effective = _synflow_objective(params, masks, output_fn,
                                            input_shape, rescale)
  r, grads = jax.value_and_grad(objective)(effective)
  scores = scoring.on_prunable(lambda m, p, g: p * g, masks, effective, grads)
  return scores, r


def _normalised(scores: PyTree) -> PyTree:
  """Scores over their maximum, so that float32 ranking keeps them apart
  (the selection compares float32 keys)."""
  leaves = [s for s in jax.tree.leaves(scores) if s is not None]
  top = functools.reduce(jnp.maximum, [jnp.max(s) for s in leaves])
  top = jnp.where(top > 0, top, 1.0)
  return jax.tree.map(lambda s: None if s is None else s / top, scores,
                      is_leaf=masks_lib.is_none)


@functools.partial(jax.jit, static_argnames=('output_fn', 'input_shape',
                                             'rescale', 'inverted'))
def _synflow_step(params, masks, k, *, output_fn, input_shape, rescale,
                  inverted):
  """One round: scores on ``masks`` and the top ``k`` of them globally
  (one compiled function for every round; the last round's selection is
  unused)."""
  scores, r = synflow_round(params, masks, output_fn, input_shape, rescale)
  # R = 0 is an underflow only if some input still reaches the output
  # (R of the 0/1 weights of the mask; a forward pass only).
  count_paths, binary = _synflow_objective(jax.tree.map(
      lambda m, p: p if m is None else m.astype(p.dtype), masks, params,
      is_leaf=masks_lib.is_none), masks, output_fn, input_shape, False)
  paths = count_paths(binary)
  finite = jnp.isfinite(r) & ((r > 0) | (paths == 0))
  for s in jax.tree.leaves(scores):
    finite &= jnp.all(jnp.isfinite(s))
  scores = _normalised(scores)
  if inverted:
    scores = invert(scores)
  return scores, r, finite, selection.top_k_global(scores, masks, k)


def synflow_counts(remaining: int, density: float, rounds: int) -> list[int]:
  """Weights kept after each round: ``round(remaining * density**(k/n))``.

  >>> synflow_counts(1000, 0.01, 2)
  [100, 10]
  """
  if not 0.0 < density <= 1.0:
    raise errors.InputError(f'density {density} is outside (0, 1]: it is the '
                     'fraction of the remaining weights to keep.')
  if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
    raise errors.InputError(
        f'rounds must be a positive integer, got {rounds!r}.')
  return [int(round(remaining * density ** (k / rounds)))
          for k in range(1, rounds + 1)]


@scoring.register_scorer('synflow', needs=('output_fn', 'input_shape'))
def synflow(params: PyTree, masks: PyTree, *, loss_fn: LossFn | None = None,
            batch: Any = None, key: jax.Array | None = None,
            output_fn: Callable[[PyTree, jax.Array], jax.Array] | None = None,
            input_shape: tuple[int, ...] | None = None,
            density: float = 1.0, rounds: int = 100, rescale: bool = False,
            inverted: bool = False, **unused: Any) -> PyTree:
  """Iterative SynFlow scores (data-free).

  Round ``k`` of ``n`` scores the current mask and keeps the top
  ``round(r0 * density**(k/n))`` globally (``r0`` = unmasked weights in
  ``masks``). The returned scores are those of the last round (divided by
  their maximum), with the weights pruned in earlier rounds set to
  ``-inf``: keeping the top ``round(r0 * density)`` of them
  (``keep_top_k_global``, ``prune_global``) gives the iterative mask
  exactly. With ``density=1`` or ``rounds=1`` it is single-shot SynFlow.

  Args:
    params: the weights (all are made absolute; biases too).
    masks: current masks.
    loss_fn: unused (data-free).
    batch: unused.
    key: unused.
    output_fn: ``output_fn(params, x) -> outputs``; batch norm, if any, in
      inference mode (with absolute running means) inside it. It must be
      hashable and the same object across calls (it is a static argument
      of the compiled round).
    input_shape: the all-ones input's shape, e.g. ``(1, 28, 28, 1)``.
    density: the fraction of ``masks``'s unmasked weights finally kept.
    rounds: ``n`` (100 as published).
    rescale: rescale each layer (see ``synflow_round``: exact for chains
      of layers, not for residual networks); the alternative is float64
      (``jax_enable_x64``), which ``synflow`` uses whenever it is enabled.
    inverted: keep what SynFlow would prune, in every round (the
      inversion sanity check); the returned scores are then negated.

  Returns:
    Scores for the prunable leaves (float64 under x64).

  A mask that no longer connects the input to the output (inverted
  SynFlow soon gets there) has ``R = 0`` and all-zero scores; ties are then
  kept by position, as in every selection.

  Raises:
    FloatingPointError: if ``R`` or a score is not finite, or ``R`` is 0
      while a path remains (never a silent NaN mask).
  """
  del loss_fn, batch, key
  scoring.require('synflow', output_fn=output_fn, input_shape=input_shape)
  masks_lib.check_mask_tree(params, masks)
  input_shape = tuple(int(d) for d in input_shape)
  remaining = int(sum(selection.count_true(masks_lib.mask_leaves(masks))))
  counts = synflow_counts(remaining, density, rounds)
  current = masks
  for k, count in enumerate(counts, start=1):
    scores, r, finite, new = _synflow_step(
        params, current, count, output_fn=output_fn,
        input_shape=input_shape, rescale=rescale, inverted=inverted)
    if not bool(finite):
      raise errors.NumericError(
          f'SynFlow round {k}: R = {float(r)!r} or a score is not finite, '
          'or R is 0 while the mask still connects the input to the output '
          '(the product of |W| over- or underflowed '
          f'{jnp.dtype(_compute_dtype()).name}); enable float64 with '
          "jax.config.update('jax_enable_x64', True), or pass rescale=True "
          '(exact for networks without residual connections).')
    if k < rounds:
      current = new
  return scoring.on_prunable(lambda m, s: jnp.where(m, s, -jnp.inf),
                             current, scores)
