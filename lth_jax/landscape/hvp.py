"""Hessian-vector products in a mask's subspace, over a whole data set.

The loss of a sparse network is ``f(w) = L(w * m)``: the effective weights
are the params times the mask (``None`` mask leaves, e.g. biases, are never
pruned). Its Hessian is ``M H M`` with ``H`` the Hessian of ``L`` at
``w * m`` and ``M`` the diagonal projector onto the kept coordinates, so
pruned coordinates have zero rows and columns. ``hessian_vector_product``
computes ``M H M v`` forward-over-reverse (``jax.jvp`` of ``jax.grad``);
PyHessian (Yao et al. 2020) does it by double backprop: one product costs
about two gradients and memory of a few params, never ``O(n^2)``.

The loss is the mean over a data set cut into equal batches (leading axis
``[num_batches, batch_size, ...]``, ``split_batches``); batches are summed
by ``lax.scan``, so memory does not grow with the data set.
"""
from typing import Any, Callable

import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax.pruning import masks as masks_lib

PyTree = Any
#: ``loss_fn(params, batch) -> scalar``: the mean loss of one batch.
LossFn = Callable[[PyTree, Any], jax.Array]


def split_batches(data: Any, batch_size: int) -> Any:
  """``data`` (leaves ``[N, ...]``) as ``[N // batch_size, batch_size, ...]``.

  The last ``N % batch_size`` examples are dropped, so every batch has the
  same weight in the mean.

  >>> split_batches(jnp.arange(5), 2).tolist()
  [[0, 1], [2, 3]]

  Raises:
    ValueError: if ``batch_size`` is not in [1, N] or leaves differ in N.
  """
  sizes = {int(jnp.shape(x)[0]) for x in jax.tree.leaves(data)}
  if len(sizes) != 1:
    raise errors.InputError(
        f'the data leaves have different numbers of examples '
        f'({sorted(sizes)}): pass inputs and labels of one set.')
  n = sizes.pop()
  if isinstance(batch_size, bool) or not 1 <= batch_size <= n:
    raise errors.InputError(
        f'batch_size must be in [1, {n}] (the examples), got '
        f'{batch_size!r}.')
  num = n // batch_size
  return jax.tree.map(
      lambda x: x[:num * batch_size].reshape(
          (num, batch_size) + tuple(x.shape[1:])), data)


def masked_loss(loss_fn: LossFn, masks: PyTree) -> LossFn:
  """``(params, batch) -> loss_fn(params * masks, batch)``."""
  def loss(params, batch):
    return loss_fn(masks_lib.apply_masks(params, masks), batch)
  return loss


def _check_batches(batches: Any) -> None:
  leaves = jax.tree.leaves(batches)
  if not leaves or any(jnp.ndim(x) < 2 for x in leaves):
    raise errors.InputError(
        'batches must have leaves [num_batches, batch_size, '
        '...]: cut the data with split_batches(data, size).')


def dataset_loss(loss_fn: LossFn, params: PyTree, masks: PyTree,
                 batches: Any) -> jax.Array:
  """The mean over ``batches`` of the masked batch loss.

  >>> loss = lambda p, b: jnp.mean((p['w'] * b) ** 2)
  >>> p, m = {'w': jnp.array([1., 2.])}, {'w': jnp.array([True, False])}
  >>> float(dataset_loss(loss, p, m, jnp.ones((3, 4, 2))))
  0.5
  """
  _check_batches(batches)
  loss = masked_loss(loss_fn, masks)

  def body(total, batch):
    return total + loss(params, batch), None

  first = jax.tree.map(lambda x: x[0], batches)
  total, _ = jax.lax.scan(body, jnp.zeros_like(loss(params, first)), batches)
  return total / jax.tree.leaves(batches)[0].shape[0]


def hessian_vector_product(loss_fn: LossFn, params: PyTree, masks: PyTree,
                           v: PyTree, batches: Any) -> PyTree:
  """``M H M v`` for the mean masked loss over ``batches``.

  Args:
    loss_fn: ``loss_fn(params, batch) -> scalar``, the mean loss of a batch
      (the model's apply and the loss; masks are applied here).
    params: the point (pruned entries may hold anything: they are masked).
    masks: bool masks like ``params`` (``None``: never pruned).
    v: the direction, a tree like ``params``.
    batches: the data, leaves ``[num_batches, batch_size, ...]``.

  Returns:
    A tree like ``params``, zero on pruned coordinates.

  >>> loss = lambda p, b: jnp.sum(b * p['w'] ** 2)   # H = 2 diag(b)
  >>> p, m = {'w': jnp.ones(2)}, {'w': jnp.array([True, False])}
  >>> v, data = {'w': jnp.ones(2)}, jnp.full((1, 2), 3.)
  >>> hessian_vector_product(loss, p, m, v, data)['w'].tolist()
  [6.0, 0.0]
  """
  _check_batches(batches)
  masks_lib.check_mask_tree(params, masks)
  loss = masked_loss(loss_fn, masks)
  v = masks_lib.apply_masks(v, masks)

  def batch_hvp(batch):
    grad = jax.grad(lambda p: loss(p, batch))
    return jax.jvp(grad, (params,), (v,))[1]

  def body(total, batch):
    return jax.tree.map(jnp.add, total, batch_hvp(batch)), None

  zeros = jax.tree.map(jnp.zeros_like, params)
  total, _ = jax.lax.scan(body, zeros, batches)
  count = jax.tree.leaves(batches)[0].shape[0]
  return masks_lib.apply_masks(jax.tree.map(lambda t: t / count, total),
                               masks)
