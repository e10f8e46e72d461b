"""One-shot pruning of a trained network from calibration inputs.

Both methods work layer by layer on a kernel ``W`` of shape ``[n_in,
n_out]`` (Flax's layout; a conv kernel is reshaped to ``[kh * kw * c_in,
c_out]`` and paired with its im2col patches) and the matrix ``X`` of that
layer's inputs on calibration data, ``[n_samples, n_in]``:

* Wanda (Sun et al. 2023): score ``|W_ij| * ||X_i||_2`` (``i`` an input
  feature, the column norm of ``X``), compared *within each output*: every
  output unit keeps the same share of its incoming weights. Registered as
  the ``wanda`` scorer (``input_norms=`` per prunable leaf); the per-output
  selection is ``per_output_masks``.
* SparseGPT (Frantar & Alistarh 2023): layer-wise OBS reconstruction.
  ``H = X^T X + lambda I`` with ``lambda`` 1 % of the mean diagonal; the
  upper Cholesky factor ``U`` of ``H^-1`` drives a left-to-right sweep over
  input features in blocks of ``block_size``: in each block the mask keeps
  the largest ``w^2 / U_ii^2`` (an exact share of the layer's count), each
  pruned weight's error ``(w - q) / U_ii`` is spread over the block's later
  features at once and over later blocks lazily, by one matrix product
  per block. Returns the updated weights, the mask and the reconstruction
  error ``||X W - X W_hat||_F^2``.

Counts are exact and selections go through ``lth_jax.pruning.selection``
(ties by index). The math is NumPy float64 (the Cholesky factor needs
it); collecting ``X`` from a model is ``lth_jax.training.activations``.
"""
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import errors
from lth_jax.pruning import distributions
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import scores as scores_lib
from lth_jax.pruning import scoring
from lth_jax.pruning import selection
from lth_jax.pruning import tree_paths

PyTree = Any
#: SparseGPT's dampening: this fraction of the mean diagonal of ``X^T X``.
DAMPENING = 0.01
#: SparseGPT's column block (mask selection and lazy updates).
BLOCK_SIZE = 128


def _check_inputs(kernel: Any, inputs: Any) -> tuple[np.ndarray, np.ndarray]:
  w, x = np.asarray(kernel), np.asarray(inputs)
  if w.ndim != 2 or x.ndim != 2 or x.shape[1] != w.shape[0]:
    raise errors.InputError(
        f'one-shot pruning needs a [n_in, n_out] kernel and [n, n_in] '
        f'inputs, got {w.shape} and {x.shape}; reshape conv kernels to '
        '[kh * kw * c_in, c_out] and pass their im2col patches.')
  return w, x


def feature_norms(inputs: Any) -> np.ndarray:
  """``||X_i||_2`` per input feature (column) of ``[n, n_in]`` inputs."""
  return np.sqrt(np.sum(np.square(np.asarray(inputs, np.float64)), 0))


@scoring.register_scorer('wanda', needs=('input_norms',))
def wanda(params: PyTree, masks: PyTree, *, loss_fn: Any = None,
          batch: Any = None, key: jax.Array | None = None,
          input_norms: PyTree = None, **unused: Any) -> PyTree:
  """Wanda's scores ``|W_ij| * ||X_i||_2`` (rank them per output unit).

  Args:
    params: trained weights; prunable leaves ``[n_in, n_out]`` (or any
      rank whose leading axes flatten to ``n_in``).
    masks: current masks.
    loss_fn, batch, key: unused.
    input_norms: per prunable leaf, the ``[n_in]`` norms of its inputs
      (``feature_norms(X)``); None elsewhere.

  Returns:
    Scores shaped like the params (masked-out weights score 0).

  >>> wanda({'w': jnp.array([[1., -2.], [3., 1.]])},
  ...       {'w': jnp.ones((2, 2), bool)},
  ...       input_norms={'w': jnp.array([10., 1.])})['w']
  Array([[10., 20.],
         [ 3.,  1.]], dtype=float32)
  """
  del loss_fn, batch, key
  scoring.require('wanda', input_norms=input_norms)
  masks_lib.check_mask_tree(params, masks)

  def score(m, p, n):
    p = jnp.where(m, p, 0)
    flat = jnp.abs(p.reshape(-1, p.shape[-1]))
    if n is None or np.shape(n) != (flat.shape[0],):
      raise errors.InputError(
          f'wanda needs [{flat.shape[0]}] input norms for a '
          f'kernel of shape {p.shape}, got '
          f'{None if n is None else np.shape(n)}.')
    return (flat * jnp.asarray(n, p.dtype)[:, None]).reshape(p.shape)
  return jax.tree.map(lambda m, p, n: None if m is None else score(m, p, n),
                      masks, params, input_norms, is_leaf=masks_lib.is_none)


def _per_output_kernel(scores, mask, counts, select):
  return jax.vmap(lambda s, m, k: selection.keep_top_k(s, m, k,
                                                       method=select),
                  in_axes=(1, 1, 0), out_axes=1)(scores, mask, counts)


_per_output = jax.jit(_per_output_kernel, static_argnums=3)


def per_output_masks(scores: PyTree, masks: PyTree, counts: PyTree,
                     select: str = 'bitwise') -> PyTree:
  """Keeps each leaf's ``counts`` weights, shared evenly by its outputs.

  Each output unit (last axis) keeps its top scores; the layer's count is
  split over the outputs by largest remainder (``exact_counts``), so the
  layer keeps exactly its count.

  >>> per_output_masks({'w': jnp.array([[1., 4.], [2., 3.]])},
  ...                  {'w': jnp.ones((2, 2), bool)}, {'w': 2})['w']
  Array([[False,  True],
         [ True, False]], dtype=bool)
  """
  def leaf(m, s, c):
    if m is None:
      return None
    flat = jnp.reshape(s, (-1, np.shape(s)[-1]))
    n_in, n_out = flat.shape
    share = distributions.exact_counts([n_in] * n_out, [c / (n_in * n_out)]
                                       * n_out, int(c))
    kept = _per_output(flat, jnp.reshape(m, flat.shape),
                       jnp.asarray(share), select)
    return kept.reshape(np.shape(m))
  return jax.tree.map(leaf, masks, scores, counts, is_leaf=masks_lib.is_none)


class SparseGptResult(NamedTuple):
  """A layer pruned by SparseGPT: new kernel, mask and squared error."""
  kernel: np.ndarray
  mask: np.ndarray
  error: float


def hessian(inputs: Any, dampening: float = DAMPENING) -> np.ndarray:
  """``X^T X + lambda I`` in float64, ``lambda = dampening * mean diag``."""
  x = np.asarray(inputs, np.float64)
  h = x.T @ x
  h[np.diag_indices_from(h)] += dampening * np.mean(np.diag(h))
  return h


def inverse_cholesky(h: np.ndarray) -> np.ndarray:
  """The upper Cholesky factor ``U`` of ``H^-1`` (``H^-1 = U^T U``)."""
  inv = np.linalg.inv(np.linalg.cholesky(h))
  inverse = inv.T @ inv
  return np.linalg.cholesky(inverse).T


def reconstruction_error(inputs: Any, kernel: Any, pruned: Any) -> float:
  """``||X W - X W_hat||_F^2``: the layer's output error on ``X``."""
  x = np.asarray(inputs, np.float64)
  diff = x @ (np.asarray(kernel, np.float64) - np.asarray(pruned,
                                                         np.float64))
  return float(np.sum(diff * diff))


def sparsegpt_layer(kernel: Any, inputs: Any, count: int, *,
                    block_size: int = BLOCK_SIZE,
                    dampening: float = DAMPENING,
                    select: str = 'bitwise') -> SparseGptResult:
  """SparseGPT on one ``[n_in, n_out]`` kernel, keeping ``count`` weights.

  Args:
    kernel: the trained weights.
    inputs: ``[n, n_in]`` calibration inputs of the layer.
    count: how many weights to keep (exact).
    block_size: input features per block.
    dampening: ``lambda`` as a fraction of the mean diagonal of ``X^T X``.
    select: the selection algorithm of the per-block masks.

  Returns:
    ``SparseGptResult(kernel, mask, error)`` in the input's layout.
  """
  w_in, x = _check_inputs(kernel, inputs)
  n_in = w_in.shape[0]
  if not 0 <= count <= w_in.size:
    raise errors.InputError(f'cannot keep {count} of {w_in.size} weights.')
  u = inverse_cholesky(hessian(x, dampening))
  w = w_in.astype(np.float64).T.copy()  # [n_out, n_in]: OBS rows
  mask = np.zeros(w.shape, bool)
  starts = list(range(0, n_in, block_size))
  widths = [min(block_size, n_in - s) for s in starts]
  shares = distributions.exact_counts(
      [w.shape[0] * b for b in widths],
      [count / w.size] * len(starts), count)
  for start, width, share in zip(starts, widths, shares):
    end = start + width
    block, u_block = w[:, start:end].copy(), u[start:end, start:end]
    diag = np.diag(u_block)
    saliency = (block / diag) ** 2
    keep = np.asarray(selection.keep_top_k(
        jnp.asarray(saliency, jnp.float32), jnp.ones(block.shape, bool),
        share, method=select))
    errors = np.zeros_like(block)
    for i in range(width):
      q = np.where(keep[:, i], block[:, i], 0.0)
      err = (block[:, i] - q) / diag[i]
      block[:, i:] -= np.outer(err, u_block[i, i:])
      block[:, i] = q
      errors[:, i] = err
    w[:, start:end] = block
    mask[:, start:end] = keep
    w[:, end:] -= errors @ u[start:end, end:]
  pruned = np.where(mask, w, 0.0).T.astype(w_in.dtype)
  return SparseGptResult(pruned, mask.T,
                         reconstruction_error(x, w_in, pruned))


ONESHOT_METHODS = ('magnitude', 'wanda', 'sparsegpt')


class PrunedNetwork(NamedTuple):
  """One-shot pruning's outcome: weights, masks, per-layer squared error."""
  params: PyTree
  masks: PyTree
  errors: dict[str, float]


def prune_network(method: str, params: PyTree, masks: PyTree,
                  inputs: dict[str, Any], counts: PyTree) -> PrunedNetwork:
  """Prunes every prunable leaf one-shot to its count.

  Args:
    method: ``'magnitude'`` (largest ``|w|`` per layer), ``'wanda'`` or
      ``'sparsegpt'`` (which also updates the kept weights).
    params: the trained weights.
    masks: dense masks (``None``: not pruned).
    inputs: ``{kernel path: [n, n_in] inputs}``
      (``lth_jax.training.activations.layer_inputs``).
    counts: weights kept per leaf (``distributions.layer_counts``).

  Returns:
    ``PrunedNetwork``; ``errors`` holds ``||X W - X W_hat||_F^2`` per
    layer for every method.
  """
  if method not in ONESHOT_METHODS:
    raise errors.InputError(f'unknown one-shot method {method!r}; use one of '
                     f'{", ".join(ONESHOT_METHODS)}.')
  masks_lib.check_mask_tree(params, masks)
  paths = masks_lib.prunable_paths(masks)
  missing = [p for p in paths if p not in inputs]
  if missing:
    raise errors.InputError(
        f'no calibration inputs for {missing}; collect them '
        'with lth_jax.training.activations.layer_inputs.')
  errors: dict[str, float] = {}
  new_params, new_masks = {}, {}
  p_leaves, c_leaves = _by_path(params), _by_path(counts)
  if method == 'wanda':
    norms = _fill(masks, {p: feature_norms(inputs[p]) for p in paths})
    kept = per_output_masks(wanda(params, masks, input_norms=norms), masks,
                            counts)
  elif method == 'magnitude':
    kept = distributions.keep_counts(scores_lib.magnitude(params, masks),
                                     masks, counts)
  for path in paths:
    w = np.asarray(p_leaves[path])
    if method == 'sparsegpt':
      result = sparsegpt_layer(_rows(w), inputs[path], int(c_leaves[path]))
      new_params[path] = result.kernel.reshape(w.shape)
      new_masks[path] = result.mask.reshape(w.shape)
    else:
      new_masks[path] = np.asarray(_by_path(kept)[path])
      new_params[path] = np.where(new_masks[path], w, 0).astype(w.dtype)
    errors[path] = reconstruction_error(inputs[path], _rows(w),
                                        _rows(new_params[path]))
  return PrunedNetwork(_fill(params, new_params, keep=True),
                       _fill(masks, new_masks), errors)


def _rows(x: np.ndarray) -> np.ndarray:
  """A kernel as ``[n_in, n_out]`` (leading axes flattened)."""
  return x.reshape(-1, x.shape[-1])


def _by_path(tree: PyTree) -> dict[str, Any]:
  flat, _ = jax.tree_util.tree_flatten_with_path(tree, is_leaf=masks_lib.is_none)
  return {tree_paths.path_to_str(k): v for k, v in flat}


def _fill(tree: PyTree, values: dict[str, Any], keep: bool = False
          ) -> PyTree:
  """``tree`` with leaves replaced from ``values`` by path (others: the
  leaf itself if ``keep``, else None)."""
  return tree_paths.map_with_path(
      lambda p, x: values.get(p, x if keep else None), tree,
      is_leaf=masks_lib.is_none)
