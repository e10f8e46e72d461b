"""Learned supermasks: train a score per weight, keep the weights frozen.

Two methods, both pure Flax/optax code in which the *scores* are the trained
pytree (``state.params``) and the weights a constant pytree
(``state.weights``) that no step ever changes:

* ``edge_popup`` (Ramanujan et al. 2020): the forward pass uses, in every
  prunable layer, the exact top ``remaining`` fraction of ``|score|``
  (``remaining`` = fraction of weights *kept*; the reference code's "prune
  rate" means the same fraction, which is easy to misread). The gradient of
  the masked weight passes straight through the top-k to ``|score|``:
  ``dL/ds = dL/d(w m) * w * sign(s)``. Published: SGD (momentum 0.9) with
  a cosine schedule; frozen weights Kaiming normal or signed constant
  ``±sqrt(2 / fan_in)``.
* ``bernoulli`` (Zhou et al. 2019): the forward pass samples
  ``m ~ Bernoulli(sigmoid(s))`` per weight with a straight-through
  gradient ``dm/dp = 1``; with ``rescale`` the layer's weights are scaled by
  ``n / sum(m)`` (dynamic weight rescaling).

At evaluation both use a deterministic mask: the exact top-k of each
layer's scores through ``lth_jax.pruning.selection`` (ties by index).
Edge-popup keeps exactly ``round(remaining n)`` weights per layer (the
per-layer counts are arrays in the state, so a new ``remaining`` never
recompiles). Bernoulli's density is learned, not fixed: ``remaining`` only
sets its initial expected density, and the evaluated mask keeps, per
layer, the trained expected count ``round(sum(sigmoid(s)))`` of highest
scores (``eval_counts``), so that the evaluated density equals the trained
expected density (to one weight per layer) instead of the initial one.

``train_step(state, images, labels, task)`` and ``evaluate(state, images,
labels)`` have the signatures of the training engine's ``train_step=`` and
``evaluate=`` hooks (``engine.train(..., train_step=supermask.train_step,
evaluate=supermask.evaluate)``, as ``lottery.supermasks`` does);
``train_steps`` runs ``train_step`` in one ``lax.scan`` for short runs and
tests.
"""
import functools
from typing import Any, Callable

from flax import struct
from flax.training import train_state
import jax
import jax.numpy as jnp
import numpy as np
import optax

from lth_jax import errors
from lth_jax.pruning import criteria
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import selection
from lth_jax.training import batching
from lth_jax.training import losses
from lth_jax.training import steps

PyTree = Any
METHODS = ('edge_popup', 'bernoulli')
WEIGHT_INITS = ('kaiming_normal', 'signed_constant', 'given')


class SupermaskState(train_state.TrainState):
  """A supermask's train state: ``params`` are the scores.

  Attributes:
    weights: the frozen network weights (a full params pytree).
    counts: per prunable leaf, the int32 number of weights kept (``None``
      elsewhere); ``params`` has the same structure.
    data_key: key of the data order and of the Bernoulli samples.
    batch_stats: the model's batch-norm statistics (``{}`` if none).
    method: ``'edge_popup'`` or ``'bernoulli'`` (static).
    rescale: dynamic weight rescaling (static; Bernoulli only).
  """
  weights: PyTree = struct.field(default=None)
  counts: PyTree = struct.field(default=None)
  data_key: jax.Array = struct.field(default=None)
  batch_stats: PyTree = struct.field(default_factory=dict)
  method: str = struct.field(pytree_node=False, default='edge_popup')
  rescale: bool = struct.field(pytree_node=False, default=False)


def fan_in(shape: tuple[int, ...]) -> int:
  """Inputs per output unit of a kernel ``(..., in, out)``.

  >>> fan_in((3, 3, 16, 32)), fan_in((784, 300))
  (144, 784)
  """
  return int(np.prod(shape[:-1])) if len(shape) > 1 else 1


def frozen_weights(key: jax.Array, params: PyTree, masks: PyTree,
                   init: str = 'kaiming_normal') -> PyTree:
  """The frozen weights: prunable kernels drawn afresh, the rest kept.

  Args:
    key: PRNG key.
    params: the model's params (their values are kept for ``'given'`` and
      for leaves whose mask is ``None``, e.g. zero biases).
    masks: which leaves are masked (``None``: kept as in ``params``).
    init: ``'kaiming_normal'`` (``N(0, 2 / fan_in)``), ``'signed_constant'``
      (``±sqrt(2 / fan_in)`` with a random sign), or ``'given'``.

  Returns:
    A params pytree like ``params``.

  >>> w = frozen_weights(jax.random.key(0), {'k': jnp.zeros((8, 2))},
  ...                    {'k': jnp.ones((8, 2), bool)}, 'signed_constant')
  >>> sorted(set(jnp.abs(w['k']).ravel().tolist()))
  [0.5]
  """
  if init not in WEIGHT_INITS:
    raise errors.InputError(f'unknown frozen-weight init {init!r}; known: '
                     f'{", ".join(WEIGHT_INITS)}.')
  leaves, treedef = jax.tree.flatten(masks, is_leaf=masks_lib.is_none)
  p_leaves = treedef.flatten_up_to(params)
  keys = jax.random.split(key, len(leaves))
  out = []
  for m, p, k in zip(leaves, p_leaves, keys):
    if m is None or init == 'given':
      out.append(p)
      continue
    std = np.sqrt(2.0 / fan_in(p.shape))
    if init == 'kaiming_normal':
      out.append(std * jax.random.normal(k, p.shape, p.dtype))
    else:
      sign = jnp.where(jax.random.bernoulli(k, 0.5, p.shape), 1.0, -1.0)
      out.append((std * sign).astype(p.dtype))
  return jax.tree.unflatten(treedef, out)


def initial_scores(key: jax.Array, weights: PyTree, masks: PyTree,
                   method: str, remaining: float) -> PyTree:
  """Scores to start from (``None`` on unmasked leaves).

  Edge-popup: Kaiming uniform, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (the
  reference code's ``kaiming_uniform_(a=sqrt(5))``). Bernoulli: logits of
  ``remaining`` plus ``N(0, 0.01)`` noise, so the expected density starts at
  the evaluated one.
  """
  check_method(method)
  leaves, treedef = jax.tree.flatten(masks, is_leaf=masks_lib.is_none)
  w_leaves = treedef.flatten_up_to(weights)
  keys = jax.random.split(key, len(leaves))
  out = []
  for m, w, k in zip(leaves, w_leaves, keys):
    if m is None:
      out.append(None)
    elif method == 'edge_popup':
      bound = 1.0 / np.sqrt(fan_in(w.shape))
      out.append(jax.random.uniform(k, w.shape, jnp.float32, -bound, bound))
    else:
      logit = float(np.log(remaining) - np.log1p(-remaining)) if (
          remaining < 1.0) else 5.0
      out.append(logit + 0.01 * jax.random.normal(k, w.shape, jnp.float32))
  return jax.tree.unflatten(treedef, out)


def check_method(method: str) -> str:
  if method not in METHODS:
    raise errors.InputError(f'unknown supermask method {method!r}; known: '
                     f'{", ".join(METHODS)}.')
  return method


def make_optimizer(learning_rate: float, total_steps: int,
                   momentum: float = 0.9, weight_decay: float = 0.0,
                   schedule: str = 'cosine', optimizer: str = 'sgd'
                   ) -> optax.GradientTransformation:
  """SGD (momentum) or Adam on the scores, cosine or constant schedule.

  Weight decay is coupled (added to the gradient), as in the reference code.
  """
  if schedule not in ('cosine', 'constant'):
    raise errors.InputError(f"unknown schedule {schedule!r}; known: cosine, "
                     'constant.')
  lr = (optax.cosine_decay_schedule(learning_rate, max(total_steps, 1))
        if schedule == 'cosine' else learning_rate)
  if optimizer == 'sgd':
    opt = optax.sgd(lr, momentum=momentum or None)
  elif optimizer == 'adam':
    opt = optax.adam(lr)
  else:
    raise errors.InputError(
        f'unknown optimizer {optimizer!r}; known: adam, sgd.')
  if weight_decay:
    opt = optax.chain(optax.add_decayed_weights(weight_decay), opt)
  return opt


def create_state(model: Any, weights: PyTree, masks: PyTree,
                 remaining: float, key: jax.Array, data_key: jax.Array,
                 tx: optax.GradientTransformation, method: str = 'edge_popup',
                 rescale: bool = False, batch_stats: PyTree = None
                 ) -> SupermaskState:
  """A fresh supermask state.

  Args:
    model: the Flax module (its ``apply`` is used).
    weights: the frozen weights (``frozen_weights``).
    masks: which leaves carry a supermask (``None``: used unmasked).
    remaining: fraction of each masked layer's weights kept, in (0, 1].
    key: key of the initial scores.
    data_key: key of the data order and the Bernoulli samples.
    tx: the optimizer of the scores.
    method: one of ``METHODS``.
    rescale: dynamic weight rescaling (Bernoulli).
    batch_stats: the model's batch-norm statistics, if any.
  """
  check_method(method)
  remaining = criteria.check_remaining(remaining)
  masks_lib.check_mask_tree(weights, masks)
  counts = jax.tree.map(
      lambda c: None if c is None else jnp.asarray(max(c, 1), jnp.int32),
      criteria.layer_counts(masks, remaining), is_leaf=masks_lib.is_none)
  scores = initial_scores(key, weights, masks, method, remaining)
  return SupermaskState.create(
      apply_fn=model.apply, params=scores, tx=tx, weights=weights,
      counts=counts, data_key=data_key, batch_stats=batch_stats or {},
      method=method, rescale=rescale)


def eval_counts(state: SupermaskState, scores: PyTree | None = None
                ) -> PyTree:
  """Weights the evaluated mask keeps per layer: edge-popup's fixed
  counts; for Bernoulli the trained expected count ``round(sum(sigmoid(
  s)))`` (at least 1), so evaluation runs at the density that was trained.
  """
  if state.method != 'bernoulli':
    return state.counts
  scores = state.params if scores is None else scores
  return jax.tree.map(
      lambda s: None if s is None else jnp.maximum(jnp.round(jnp.sum(
          jax.nn.sigmoid(s))), 1).astype(jnp.int32),
      scores, is_leaf=masks_lib.is_none)


def eval_masks(state: SupermaskState, scores: PyTree | None = None
               ) -> PyTree:
  """The exact top-k masks of the scores (the mask that is evaluated),
  ``eval_counts`` weights per layer."""
  scores = state.params if scores is None else scores
  absolute = state.method == 'edge_popup'
  return jax.tree.map(
      lambda s, k: None if s is None else selection.keep_top_k(
          s, jnp.ones(s.shape, jnp.bool_), k, absolute=absolute),
      scores, eval_counts(state, scores), is_leaf=masks_lib.is_none)


def _rescaled(w: jax.Array, m: jax.Array) -> jax.Array:
  """Dynamic weight rescaling: ``w * n / sum(m)`` (no gradient to ``n``)."""
  active = jax.lax.stop_gradient(jnp.maximum(jnp.sum(m), 1.0))
  return w * (m.size / active)


def effective_params(state: SupermaskState, scores: PyTree, train: bool,
                     rng: jax.Array | None = None) -> PyTree:
  """The weights the network runs with: ``weights * mask`` per layer.

  In training the mask carries the straight-through gradient to
  ``scores``; in evaluation it is the exact top-k mask.
  """
  if not train or state.method == 'edge_popup':
    hard = eval_masks(state, jax.lax.stop_gradient(scores))
  s_leaves, treedef = jax.tree.flatten(scores, is_leaf=masks_lib.is_none)
  w_leaves = treedef.flatten_up_to(state.weights)
  h_leaves = (treedef.flatten_up_to(hard) if not train or
              state.method == 'edge_popup' else [None] * len(s_leaves))
  keys = (jax.random.split(rng, len(s_leaves)) if rng is not None
          else [None] * len(s_leaves))
  out = []
  for s, w, h, k in zip(s_leaves, w_leaves, h_leaves, keys):
    if s is None:
      out.append(w)
      continue
    if not train:
      m = h.astype(w.dtype)
    elif state.method == 'edge_popup':
      a = jnp.abs(s)
      # Forward value exactly h: (a - a) is 0; gradient d m / d a = 1.
      m = h.astype(w.dtype) + (a - jax.lax.stop_gradient(a))
    else:
      p = jax.nn.sigmoid(s)
      sample = jax.random.bernoulli(k, jax.lax.stop_gradient(p))
      m = sample.astype(w.dtype) + (p - jax.lax.stop_gradient(p))
    w_eff = w * m
    if state.rescale:
      w_eff = _rescaled(w_eff, jax.lax.stop_gradient(m))
    out.append(w_eff)
  return jax.tree.unflatten(treedef, out)


def _apply(state: SupermaskState, params: PyTree, images: jax.Array,
           train: bool, rng: jax.Array | None) -> tuple[jax.Array, PyTree]:
  variables = {'params': params}
  if jax.tree.leaves(state.batch_stats):
    variables['batch_stats'] = state.batch_stats
    if train:
      logits, updates = state.apply_fn(variables, images, train=True,
                                       mutable=['batch_stats'],
                                       rngs={'dropout': rng})
      return logits, updates['batch_stats']
  return state.apply_fn(variables, images, train=train), state.batch_stats


def train_step(state: SupermaskState, images: jax.Array, labels: jax.Array,
               task: losses.Task = losses.Task(),
               augment: Callable[..., jax.Array] | None = None
               ) -> tuple[SupermaskState, jax.Array]:
  """One optimizer step on the scores; the weights stay as they are."""
  step_key = jax.random.fold_in(state.data_key, state.step)
  aug_key, mask_key, dropout_key = jax.random.split(step_key, 3)
  if augment is not None:
    images = augment(aug_key, images)

  def loss_fn(scores):
    params = effective_params(state, scores, True, mask_key)
    logits, batch_stats = _apply(state, params, images, True, dropout_key)
    loss, _ = losses.per_example(logits, labels, task)
    return loss.mean(), batch_stats

  (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      state.params)
  return state.apply_gradients(grads=grads, batch_stats=batch_stats), loss


def evaluate(state: SupermaskState, images: jax.Array, labels: jax.Array,
             batch_size: int = 1000, task: losses.Task = losses.Task()
             ) -> dict[str, jax.Array]:
  """Loss and accuracy of the exact top-k supermask over a split.

  Also reports ``density``: the fraction of masked weights the evaluated
  mask keeps (``eval_counts``), and for Bernoulli ``expected_density``, the
  mean of ``sigmoid(s)`` (equal to ``density`` to one weight per layer).
  """
  params = effective_params(state, state.params, False)
  n = images.shape[0]

  def one(x, y, w):
    logits, _ = _apply(state, params, x, False, None)
    loss, correct = losses.per_example(logits, y, task)
    return jnp.sum(loss * w), jnp.sum(correct * w)

  loss, correct = steps.over_batches(one, images, labels, batch_size)
  scores = [s for s in jax.tree.leaves(state.params)]
  total = sum(s.size for s in scores)
  out = {'loss': loss.sum() / n, 'acc': correct.sum() / n,
         'density': sum(jnp.asarray(c, jnp.float32) for c in
                        jax.tree.leaves(eval_counts(state))) / total}
  if state.method == 'bernoulli':
    out['expected_density'] = sum(jnp.sum(jax.nn.sigmoid(s))
                                  for s in scores) / total
  return out


@functools.partial(jax.jit, static_argnames=('num_steps', 'batch_size',
                                             'task'))
def train_steps(state: SupermaskState, data: batching.DeviceData,
                num_steps: int, batch_size: int,
                task: losses.Task = losses.Task()
                ) -> tuple[SupermaskState, jax.Array]:
  """``num_steps`` supermask steps in one ``lax.scan``; mean loss.

  Batches follow ``batching.chunk_indices`` from ``state.step``, as the
  masked training steps do.
  """
  idx = batching.chunk_indices(state.data_key, state.step, num_steps,
                               batch_size, data.train_images.shape[0])

  def body(state, batch_idx):
    return train_step(state, data.train_images[batch_idx],
                      data.train_labels[batch_idx], task)

  state, loss = jax.lax.scan(body, state, idx)
  return state, loss.mean()
