"""Pruning-at-initialisation scorers: one signature, higher score = keep.

Every scorer is ``score(params, masks, *, loss_fn=None, batch=None,
key=None, **extras) -> scores``: a pytree shaped like ``params`` with one
float array per prunable leaf (``None`` where ``masks`` is ``None``). The
exact selection of ``lth_jax.pruning.selection`` (``keep_top_k``,
``keep_top_k_global``) or ``prune_global`` / ``prune_layerwise`` with
``scores=`` turns scores into masks with exact counts; every scorer here
ranks the weights to *keep* highest. Masked-out weights score as if they
were zero (they are never revived by the selection anyway).

* ``magnitude``: ``|w|`` at initialisation.
* ``random``: uniform noise from ``key``.
* ``snip`` (Lee et al. 2019): ``|dL(c * w)/dc|`` at ``c = 1``.
* ``grasp`` (Wang et al. 2020): ``w * (H g)`` with the Hessian-vector
  product of the loss at ``logits / 200`` over the prunable weights. The
  paper's score is ``-w * (H g)`` and removes the *highest* scores, so
  keeping the highest ``w * (H g)`` is the same rule.
* ``grasp_abs``: ``|w * (H g)|``, the variant Frankle et al. 2021 found to
  do better (remove the lowest-magnitude GraSP scores).
* ``synflow`` (Tanaka et al. 2020): data-free, ``|w| * dR/d|w|`` with
  ``R = 1^T (prod |W|) 1`` (all-ones input, absolute parameters); see
  ``synflow`` for the iterative rounds and the numerics.

``loss_fn(params, batch, temperature=1.0) -> scalar`` is the mean loss of
the effective (already masked) ``params`` on ``batch`` with the logits
divided by ``temperature``; ``classification_loss`` builds one from a
Flax ``apply``.
"""
import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lth_jax import errors
from lth_jax import registry
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import selection

PyTree = Any
#: ``loss_fn(params, batch, temperature=1.0) -> scalar``.
LossFn = Callable[..., jax.Array]
#: ``score(params, masks, *, loss_fn=None, batch=None, key=None, ...)``.
Scorer = Callable[..., PyTree]

SCORERS: registry.Registry[Scorer] = registry.Registry('pruning scorer')
register_scorer = SCORERS.register

#: The GraSP temperature on the logits (Wang et al. 2020's code).
GRASP_TEMPERATURE = 200.0


def _on_prunable(fn: Callable[..., Any], masks: PyTree, *trees: PyTree
                 ) -> PyTree:
  """``fn(mask, *leaves)`` on prunable leaves, ``None`` elsewhere."""
  return jax.tree.map(lambda m, *xs: None if m is None else fn(m, *xs),
                      masks, *trees, is_leaf=masks_lib.is_none)


def _require(name: str, **values: Any) -> None:
  for arg, value in values.items():
    if value is None:
      raise errors.InputError(f'the {name} scorer needs {arg}=...; see '
                       'lth_jax.pruning.scores.')


def classification_loss(apply_fn: Callable[[PyTree, jax.Array], jax.Array]
                        ) -> LossFn:
  """A ``loss_fn`` for single-label classification.

  Args:
    apply_fn: ``apply_fn(params, images) -> logits`` (batch norm, if any,
      bound inside, e.g. in inference mode).

  Returns:
    ``loss_fn(params, (images, labels), temperature=1.0)``: the mean
    softmax cross-entropy of ``logits / temperature``.

  >>> loss = classification_loss(lambda p, x: x @ p['w'])
  >>> float(loss({'w': jnp.zeros((2, 4))}, (jnp.ones((3, 2)),
  ...                                       jnp.array([0, 1, 2]))))
  1.386...
  """
  def loss_fn(params, batch, temperature=1.0):
    images, labels = batch
    logits = apply_fn(params, images) / temperature
    return optax.softmax_cross_entropy_with_integer_labels(
        logits, labels).mean()
  return loss_fn


def class_balanced_batch(key: jax.Array, images: Any, labels: Any,
                         per_class: int) -> tuple[jax.Array, jax.Array]:
  """``per_class`` random examples of every class (SNIP/GraSP's batch).

  Args:
    key: PRNG key choosing the examples.
    images: ``[N, ...]`` inputs.
    labels: ``[N]`` integer class labels.
    per_class: examples per class (>= 1).

  Returns:
    ``(images, labels)`` sorted by class, ``per_class`` of each.

  Raises:
    ValueError: if a class has fewer than ``per_class`` examples.

  >>> x, y = class_balanced_batch(jax.random.key(0), jnp.arange(6.),
  ...                             jnp.array([0, 1, 0, 1, 0, 1]), 2)
  >>> y.tolist()
  [0, 0, 1, 1]
  """
  if isinstance(per_class, bool) or not isinstance(per_class, int) or (
      per_class < 1):
    raise errors.InputError(f'per_class must be a positive integer, got '
                     f'{per_class!r}.')
  labels_np = np.asarray(labels)
  if labels_np.ndim != 1:
    raise errors.InputError('class_balanced_batch needs [N] integer labels, got '
                     f'shape {labels_np.shape}.')
  chosen = []
  for c, k in zip(np.unique(labels_np), jax.random.split(
      key, len(np.unique(labels_np)))):
    where = np.flatnonzero(labels_np == c)
    if len(where) < per_class:
      raise errors.InputError(f'class {c} has {len(where)} examples, fewer than '
                       f'per_class={per_class}.')
    pick = np.asarray(jax.random.choice(k, len(where), (per_class,),
                                        replace=False))
    chosen.append(where[np.sort(pick)])
  index = np.concatenate(chosen)
  return jnp.asarray(np.asarray(images)[index]), jnp.asarray(labels_np[index])


@register_scorer('magnitude')
def magnitude(params: PyTree, masks: PyTree, *, loss_fn: LossFn | None = None,
              batch: Any = None, key: jax.Array | None = None) -> PyTree:
  """``|w|`` (magnitude pruning at initialisation).

  >>> magnitude({'w': jnp.array([-2., 1.]), 'b': jnp.ones(1)},
  ...           {'w': jnp.ones(2, bool), 'b': None})['w']
  Array([2., 1.], dtype=float32)
  """
  del loss_fn, batch, key
  masks_lib.check_mask_tree(params, masks)
  return _on_prunable(lambda m, p: jnp.abs(jnp.where(m, p, 0)), masks,
                      params)


@register_scorer('random')
def random(params: PyTree, masks: PyTree, *, loss_fn: LossFn | None = None,
           batch: Any = None, key: jax.Array | None = None) -> PyTree:
  """Uniform noise in [0, 1): random pruning with exact counts.

  >>> s = random({'w': jnp.zeros(3)}, {'w': jnp.ones(3, bool)},
  ...            key=jax.random.key(0))
  >>> s['w'].shape
  (3,)
  """
  del loss_fn, batch
  _require('random', key=key)
  masks_lib.check_mask_tree(params, masks)
  leaves, treedef = jax.tree.flatten(masks, is_leaf=masks_lib.is_none)
  keys = iter(jax.random.split(key, len(leaves)))
  return jax.tree.unflatten(treedef, [
      None if m is None else jax.random.uniform(next(keys), m.shape)
      for m in leaves])


@register_scorer('snip')
def snip(params: PyTree, masks: PyTree, *, loss_fn: LossFn | None = None,
         batch: Any = None, key: jax.Array | None = None) -> PyTree:
  """SNIP's connection sensitivity ``|dL(c * w)/dc|`` at ``c = 1``.

  The gradient is taken with respect to the multiplicative gates ``c`` of
  the masked weights (not the weights), which equals ``|g * w|``.

  Args:
    params: the weights at initialisation.
    masks: current masks (``None`` leaves are never gated).
    loss_fn: ``loss_fn(params, batch)``, the mean loss.
    batch: the data (e.g. ``class_balanced_batch``).
    key: unused.

  Returns:
    Scores for the prunable leaves.

  >>> lin = classification_loss(lambda p, x: x @ p['w'])
  >>> s = snip({'w': jnp.array([[1., -1.]])}, {'w': jnp.ones((1, 2), bool)},
  ...          loss_fn=lin, batch=(jnp.ones((1, 1)), jnp.array([0])))
  >>> s['w'].round(3)
  Array([[0.119, 0.119]], dtype=float32)
  """
  del key
  _require('snip', loss_fn=loss_fn, batch=batch)
  masks_lib.check_mask_tree(params, masks)
  effective = masks_lib.apply_masks(params, masks)
  gates = _on_prunable(lambda m, p: jnp.ones_like(p), masks, params)

  def gated_loss(c):
    gated = jax.tree.map(lambda m, p, g: p if m is None else p * g, masks,
                         effective, c, is_leaf=masks_lib.is_none)
    return loss_fn(gated, batch)

  grads = jax.grad(gated_loss)(gates)
  return _on_prunable(lambda m, g: jnp.abs(g), masks, grads)


def hessian_gradient_product(params: PyTree, masks: PyTree, loss_fn: LossFn,
                             batch: Any, temperature: float) -> PyTree:
  """``H g`` on the prunable weights: ``g`` the gradient of the loss at
  ``logits / temperature`` restricted to the unmasked prunable weights,
  ``H`` its Hessian (forward-over-reverse, no Hessian materialised)."""
  loss = functools.partial(loss_fn, batch=batch, temperature=temperature)
  effective = masks_lib.apply_masks(params, masks)
  grad = jax.grad(loss)
  g = grad(effective)
  tangent = jax.tree.map(
      lambda m, x: jnp.zeros_like(x) if m is None else jnp.where(m, x, 0),
      masks, g, is_leaf=masks_lib.is_none)
  _, hg = jax.jvp(grad, (effective,), (tangent,))
  return hg


@register_scorer('grasp')
def grasp(params: PyTree, masks: PyTree, *, loss_fn: LossFn | None = None,
          batch: Any = None, key: jax.Array | None = None,
          temperature: float = GRASP_TEMPERATURE) -> PyTree:
  """GraSP: keep the highest ``w * (H g)`` (remove the highest ``-w * Hg``).

  Args:
    params, masks, loss_fn, batch: as for ``snip``; ``loss_fn`` takes
      ``temperature=``.
    key: unused.
    temperature: divides the logits (200 as published).

  Returns:
    Scores for the prunable leaves.
  """
  del key
  _require('grasp', loss_fn=loss_fn, batch=batch)
  masks_lib.check_mask_tree(params, masks)
  hg = hessian_gradient_product(params, masks, loss_fn, batch, temperature)
  return _on_prunable(lambda m, p, h: jnp.where(m, p, 0) * h, masks, params,
                      hg)


@register_scorer('grasp_abs')
def grasp_abs(params: PyTree, masks: PyTree, *,
              loss_fn: LossFn | None = None, batch: Any = None,
              key: jax.Array | None = None,
              temperature: float = GRASP_TEMPERATURE) -> PyTree:
  """``|w * (H g)|``: GraSP magnitudes (Frankle et al. 2021), keep highest."""
  scores = grasp(params, masks, loss_fn=loss_fn, batch=batch, key=key,
                 temperature=temperature)
  return _on_prunable(lambda m, s: jnp.abs(s), masks, scores)


def invert(scores: PyTree) -> PyTree:
  """``-scores``: keeps what the scorer would prune (a sanity check).

  >>> invert({'w': jnp.array([1., -2.]), 'b': None})['w']
  Array([-1.,  2.], dtype=float32)
  """
  return jax.tree.map(lambda s: None if s is None else -s, scores,
                      is_leaf=masks_lib.is_none)


# SynFlow.


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
  scores = _on_prunable(lambda m, p, g: p * g, masks, effective, grads)
  return scores, r


def keep_global(scores: PyTree, masks: PyTree, k: Any) -> PyTree:
  """``keep_top_k_global`` over a tree: the top ``k`` prunable scores.

  >>> keep_global({'a': jnp.array([1., 3.]), 'b': None},
  ...             {'a': jnp.ones(2, bool), 'b': None}, 1)['a']
  Array([False,  True], dtype=bool)
  """
  leaves, treedef = jax.tree.flatten(masks, is_leaf=masks_lib.is_none)
  idx = [i for i, m in enumerate(leaves) if m is not None]
  s_leaves = treedef.flatten_up_to(scores)
  kept = selection.keep_top_k_global([s_leaves[i] for i in idx],
                                     [leaves[i] for i in idx], k)
  for i, m in zip(idx, kept):
    leaves[i] = m
  return jax.tree.unflatten(treedef, leaves)


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
  return scores, r, finite, keep_global(scores, masks, k)


def synflow_counts(remaining: int, density: float, rounds: int) -> list[int]:
  """Weights kept after each round: ``round(remaining * density**(k/n))``.

  >>> synflow_counts(1000, 0.01, 2)
  [100, 10]
  """
  if not 0.0 < density <= 1.0:
    raise errors.InputError(f'density {density} is outside (0, 1]: it is the '
                     'fraction of the remaining weights to keep.')
  if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
    raise errors.InputError(f'rounds must be a positive integer, got {rounds!r}.')
  return [int(round(remaining * density ** (k / rounds)))
          for k in range(1, rounds + 1)]


@register_scorer('synflow')
def synflow(params: PyTree, masks: PyTree, *, loss_fn: LossFn | None = None,
            batch: Any = None, key: jax.Array | None = None,
            output_fn: Callable[[PyTree, jax.Array], jax.Array] | None = None,
            input_shape: tuple[int, ...] | None = None,
            density: float = 1.0, rounds: int = 100, rescale: bool = False,
            inverted: bool = False) -> PyTree:
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
  _require('synflow', output_fn=output_fn, input_shape=input_shape)
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
  return _on_prunable(lambda m, s: jnp.where(m, s, -jnp.inf), current,
                      scores)


def all_scorer_names() -> list[str]:
  """The registered scorer names, sorted."""
  return SCORERS.names()


def get_scorer(name: str) -> Scorer:
  """The scorer registered as ``name`` (errors list the known names)."""
  return SCORERS.get(name)
