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
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import scoring

PyTree = Any
#: ``loss_fn(params, batch, temperature=1.0) -> scalar``.
LossFn = Callable[..., jax.Array]
# The one registry (``lth_jax.pruning.scoring``), re-exported.
Scorer = scoring.Scorer
SCORERS = scoring.SCORERS
register_scorer = scoring.register_scorer
get_scorer = scoring.get_scorer
all_scorer_names = scoring.all_scorer_names

#: The GraSP temperature on the logits (Wang et al. 2020's code).
GRASP_TEMPERATURE = 200.0


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
    raise errors.InputError(
        'class_balanced_batch needs [N] integer labels, got '
        f'shape {labels_np.shape}.')
  chosen = []
  for c, k in zip(np.unique(labels_np), jax.random.split(
      key, len(np.unique(labels_np)))):
    where = np.flatnonzero(labels_np == c)
    if len(where) < per_class:
      raise errors.InputError(
          f'class {c} has {len(where)} examples, fewer than '
          f'per_class={per_class}.')
    pick = np.asarray(jax.random.choice(k, len(where), (per_class,),
                                        replace=False))
    chosen.append(where[np.sort(pick)])
  index = np.concatenate(chosen)
  return jnp.asarray(np.asarray(images)[index]), jnp.asarray(labels_np[index])


@register_scorer('magnitude')
def magnitude(params: PyTree, masks: PyTree, *, loss_fn: LossFn | None = None,
              batch: Any = None, key: jax.Array | None = None,
              **unused: Any) -> PyTree:
  """``|w|`` (magnitude pruning at initialisation).

  >>> magnitude({'w': jnp.array([-2., 1.]), 'b': jnp.ones(1)},
  ...           {'w': jnp.ones(2, bool), 'b': None})['w']
  Array([2., 1.], dtype=float32)
  """
  del loss_fn, batch, key
  masks_lib.check_mask_tree(params, masks)
  return scoring.on_prunable(lambda m, p: jnp.abs(jnp.where(m, p, 0)),
                             masks, params)


@register_scorer('random', needs=('key',))
def random(params: PyTree, masks: PyTree, *, loss_fn: LossFn | None = None,
           batch: Any = None, key: jax.Array | None = None,
              **unused: Any) -> PyTree:
  """Uniform noise in [0, 1): random pruning with exact counts.

  >>> s = random({'w': jnp.zeros(3)}, {'w': jnp.ones(3, bool)},
  ...            key=jax.random.key(0))
  >>> s['w'].shape
  (3,)
  """
  del loss_fn, batch
  scoring.require('random', key=key)
  masks_lib.check_mask_tree(params, masks)
  leaves, treedef = jax.tree.flatten(masks, is_leaf=masks_lib.is_none)
  keys = iter(jax.random.split(key, len(leaves)))
  return jax.tree.unflatten(treedef, [
      None if m is None else jax.random.uniform(next(keys), m.shape)
      for m in leaves])


@register_scorer('snip', needs=('loss_fn', 'batch'))
def snip(params: PyTree, masks: PyTree, *, loss_fn: LossFn | None = None,
         batch: Any = None, key: jax.Array | None = None,
              **unused: Any) -> PyTree:
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
  scoring.require('snip', loss_fn=loss_fn, batch=batch)
  masks_lib.check_mask_tree(params, masks)
  effective = masks_lib.apply_masks(params, masks)
  gates = scoring.on_prunable(lambda m, p: jnp.ones_like(p), masks, params)

  def gated_loss(c):
    gated = jax.tree.map(lambda m, p, g: p if m is None else p * g, masks,
                         effective, c, is_leaf=masks_lib.is_none)
    return loss_fn(gated, batch)

  grads = jax.grad(gated_loss)(gates)
  return scoring.on_prunable(lambda m, g: jnp.abs(g), masks, grads)


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


@register_scorer('grasp', needs=('loss_fn', 'batch'))
def grasp(params: PyTree, masks: PyTree, *, loss_fn: LossFn | None = None,
          batch: Any = None, key: jax.Array | None = None,
          temperature: float = GRASP_TEMPERATURE, **unused: Any) -> PyTree:
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
  scoring.require('grasp', loss_fn=loss_fn, batch=batch)
  masks_lib.check_mask_tree(params, masks)
  hg = hessian_gradient_product(params, masks, loss_fn, batch, temperature)
  return scoring.on_prunable(lambda m, p, h: jnp.where(m, p, 0) * h, masks,
                             params, hg)


@register_scorer('grasp_abs', needs=('loss_fn', 'batch'))
def grasp_abs(params: PyTree, masks: PyTree, *,
              loss_fn: LossFn | None = None, batch: Any = None,
              key: jax.Array | None = None,
              temperature: float = GRASP_TEMPERATURE, **unused: Any) -> PyTree:
  """``|w * (H g)|``: GraSP magnitudes (Frankle et al. 2021), keep highest."""
  scores = grasp(params, masks, loss_fn=loss_fn, batch=batch, key=key,
                 temperature=temperature)
  return scoring.on_prunable(lambda m, s: jnp.abs(s), masks, scores)


def invert(scores: PyTree) -> PyTree:
  """``-scores``: keeps what the scorer would prune (a sanity check).

  >>> invert({'w': jnp.array([1., -2.]), 'b': None})['w']
  Array([-1.,  2.], dtype=float32)
  """
  return jax.tree.map(lambda s: None if s is None else -s, scores,
                      is_leaf=masks_lib.is_none)
