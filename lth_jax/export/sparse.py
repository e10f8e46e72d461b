"""A ticket's dense layers as ``jax.experimental.sparse`` BCOO matrices.

``bcoo_kernels`` turns every 2-D masked kernel of a ticket into a BCOO
matrix holding only the kept weights; ``sparse_mlp`` builds a forward pass
of an ``MLP`` (``lth_jax.models.mlp``: layers ``hidden_<i>`` then
``output``, ReLU between) that multiplies by those matrices, and
``mlp_forward`` runs it. Kernels are stored transposed (``[out, in]``) so
each layer is a sparse-times-dense product ``W^T x^T``, the case BCOO
handles natively. Predictions equal the dense masked forward's; logits
agree up to floating-point reassociation (the sums run in another order).
"""
import re
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import sparse

from lth_jax import errors
from lth_jax.export import slim_text
from lth_jax.export import ticket as ticket_lib

_HIDDEN = re.compile(r'^params/hidden_(\d+)/kernel$')


def to_bcoo(values: np.ndarray, mask: np.ndarray) -> sparse.BCOO:
  """A BCOO matrix of ``values`` where ``mask`` (2-D), nothing elsewhere.

  >>> m = to_bcoo(np.array([[1., 2.], [3., 4.]]),
  ...             np.array([[True, False], [False, True]]))
  >>> m.nse, m.todense().tolist()
  (2, [[1.0, 0.0], [0.0, 4.0]])
  """
  if values.ndim != 2 or values.shape != mask.shape:
    raise errors.InputError(f'to_bcoo takes a 2-D kernel and its mask; got '
                     f'{values.shape} and {mask.shape}.')
  rows, cols = np.nonzero(mask)
  indices = np.stack([rows, cols], axis=1).astype(np.int32)
  return sparse.BCOO((jnp.asarray(values[rows, cols]), jnp.asarray(indices)),
                     shape=values.shape, indices_sorted=True,
                     unique_indices=True)


def bcoo_kernels(t: ticket_lib.Ticket) -> dict[str, sparse.BCOO]:
  """Every 2-D masked leaf of a ticket as a BCOO matrix, by path."""
  return {path: to_bcoo(values, mask)
          for path, (values, mask) in t.leaves.items()
          if mask is not None and values.ndim == 2}


class SparseLayer(NamedTuple):
  """One dense layer: the transposed kernel ``[out, in]`` and the bias."""
  kernel_t: sparse.BCOO
  bias: jax.Array


def sparse_mlp(t: ticket_lib.Ticket) -> list[SparseLayer]:
  """The layers of an MLP ticket, in order, as sparse matrices.

  Raises:
    ValueError: the ticket is not an MLP (no ``hidden_<i>``/``output``
      dense layers with 2-D kernels).
  """
  hidden = sorted(int(m.group(1)) for m in map(_HIDDEN.match, t.leaves)
                  if m)
  names = [f'hidden_{i}' for i in hidden] + ['output']
  layers = []
  for name in names:
    kernel = t.leaves.get(f'params/{name}/kernel')
    bias = t.leaves.get(f'params/{name}/bias')
    if kernel is None or bias is None or kernel[0].ndim != 2:
      raise errors.InputError(
          f'ticket of model {t.model!r} is not an MLP: it lacks a 2-D '
          f'params/{name}/kernel and its bias (it has '
          f'{sorted(t.leaves)[:6]}).')
    values, mask = kernel
    mask = np.ones(values.shape, bool) if mask is None else mask
    layers.append(SparseLayer(to_bcoo(values.T, mask.T),
                              jnp.asarray(bias[0])))
  return layers


@jax.jit
def mlp_forward(layers: list[SparseLayer], x: jax.Array) -> jax.Array:
  """Logits ``[batch, classes]`` of a sparse MLP on inputs ``[batch, ...]``.

  >>> w = np.array([[2., 0.], [0., 3.]], np.float32)
  >>> layer = SparseLayer(to_bcoo(w, w != 0), jnp.zeros(2))
  >>> mlp_forward([layer], jnp.ones((1, 2))).tolist()
  [[2.0, 3.0]]
  """
  h = jnp.reshape(x, (x.shape[0], -1)).T  # [in, batch]
  for i, layer in enumerate(layers):
    h = layer.kernel_t @ h + layer.bias[:, None]
    if i < len(layers) - 1:
      h = jax.nn.relu(h)
  return h.T


class SparseText(NamedTuple):
  """A text-CNN ticket as BCOO matrices (see ``sparse_text``).

  Attributes:
    embedding: ``[V, D]``, dense (pruned entries zero): a BCOO gather by
      token id (``bcoo_gather``) materialises an ``[N * L, kept]``
      comparison (272 MB for 10 documents of a 7 % 5,000 x 16 ticket), so
      rows are gathered from the dense masked table.
    taps: per module, per window offset ``k``, the kernel slice ``[F, D]``.
    biases: per module ``[F]``.
    pools: per module, the pool size (static).
    out_t: ``output``'s kernel transposed, ``[C, M * F]``.
    out_bias: ``[C]``.
  """
  embedding: jax.Array
  taps: list[list[sparse.BCOO]]
  biases: list[jax.Array]
  pools: tuple[int, ...]
  out_t: sparse.BCOO
  out_bias: jax.Array


def sparse_text(params, masks) -> SparseText:
  """Every layer of a text CNN's ticket (params, masks) as BCOO matrices.

  Every convolution tap and ``output`` multiply by the kept weights only;
  the embedding stays a dense masked table (see ``SparseText``). Jit ``text_forward`` with the layers closed over.
  """
  t = slim_text.text_layers(params, masks)
  return SparseText(
      jnp.asarray(t.embedding),
      [[to_bcoo(k[j].T, m[j].T) for j in range(k.shape[0])]
       for k, m in zip(t.kernels, t.kernel_masks)],
      [jnp.asarray(b) for b in t.biases], tuple(t.pools),
      to_bcoo(t.out_kernel.T, t.out_mask.T), jnp.asarray(t.out_bias))


def text_forward(layers: SparseText, ids: jax.Array) -> jax.Array:
  """Logits ``[batch, classes]`` of a sparse text CNN on ids ``[N, L]``.

  Each module's conv is the sum over window offsets ``k`` of ``[F, D]``
  BCOO products with the embedded tokens shifted by ``k``, computed on the
  positions its average pooling keeps.
  """
  n, length = ids.shape
  x = jnp.take(layers.embedding, ids, axis=0)  # [N, L, D]
  xt = jnp.transpose(x, (2, 0, 1))  # [D, N, L]
  features = []
  for taps, bias, pool in zip(layers.taps, layers.biases, layers.pools):
    used = (length - len(taps) + 1) // pool * pool
    y = sum(tap @ xt[:, :, k:k + used].reshape(xt.shape[0], -1)
            for k, tap in enumerate(taps))
    y = y.reshape(-1, n, used // pool, pool) + bias[:, None, None, None]
    features.append(y.mean(axis=3).mean(axis=2))  # [F, N]
  h = jnp.concatenate(features, axis=0)
  return (layers.out_t @ h + layers.out_bias[:, None]).T
