"""CPU sparse inference of a text-CNN ticket: a numba scatter kernel.

``CsrText.from_slim`` stores a ``slim_text.SlimText`` as three sparse
tables: the embedding as CSR over words (each word's kept entries), the
convolutions as CSR over embedding columns (each column's kept taps:
filter, offset, weight) and ``output`` as CSR over filters. ``forward``
runs one compiled function (numba, one thread) per call; per document it
scatters every kept embedding entry of every token along the kept taps
that read its column, into the sums of the conv outputs the pooling keeps
(``n_j = floor((L - w_j + 1) / p_j) * p_j`` positions; the model has no
nonlinearity before ``output``, so average pooling then the mean over time
is that sum over ``n_j``). Work per token is ``kept entries of its word x
kept taps per column``: both densities multiply, at any batch size.

Which layers go sparse: all three (embedding, convolutions, ``output``);
nothing stays dense but the per-filter sums and the logits. Logits equal
the masked model's up to float reassociation.
"""
import functools
import importlib.util
from typing import NamedTuple

import numpy as np
from scipy import sparse

from lth_jax import errors
from lth_jax.export import slim_text


class CsrText(NamedTuple):
  """A slim text CNN as sparse tables (module doc).

  Attributes:
    emb_indptr, emb_indices, emb_data: the embedding ``[V, D']`` as CSR.
    tap_indptr: per column ``d`` of ``D'``, where its taps start.
    tap_filter, tap_offset, tap_weight: per kept tap, the filter (index of
      the slim filters ``J'``), its offset in the window, its weight.
    width, pool: int ``[J']``: the width and pool size of each filter's
      module.
    conv_bias: float32 ``[J']``.
    out_indptr, out_indices, out_data: ``output`` ``[J', C]`` as CSR.
    out_bias: float32 ``[C]``.
  """
  emb_indptr: np.ndarray
  emb_indices: np.ndarray
  emb_data: np.ndarray
  tap_indptr: np.ndarray
  tap_filter: np.ndarray
  tap_offset: np.ndarray
  tap_weight: np.ndarray
  width: np.ndarray
  pool: np.ndarray
  conv_bias: np.ndarray
  out_indptr: np.ndarray
  out_indices: np.ndarray
  out_data: np.ndarray
  out_bias: np.ndarray

  @classmethod
  def from_slim(cls, s: slim_text.SlimText) -> 'CsrText':
    emb = sparse.csr_matrix(s.embedding)
    out = sparse.csr_matrix(s.out_kernel)
    for m in (emb, out):
      m.sort_indices()
    taps, width, pool, first = [], [], [], 0
    for kernel, p in zip(s.kernels, s.pools):
      k, d, f = np.nonzero(kernel)
      taps.append((d, first + f, k, kernel[k, d, f]))
      width += [kernel.shape[0]] * kernel.shape[2]
      pool += [p] * kernel.shape[2]
      first += kernel.shape[2]
    d, f, k, w = (np.concatenate([t[i] for t in taps] or [np.zeros(0)])
                  for i in range(4))
    order = np.lexsort((k, f, d))
    i32 = lambda a: np.asarray(a, np.int32)
    f32 = lambda a: np.asarray(a, np.float32)
    return cls(
        i32(emb.indptr), i32(emb.indices), f32(emb.data),
        i32(np.searchsorted(d[order], np.arange(len(s.dims) + 1))),
        i32(f[order]), i32(k[order]), f32(w[order]), i32(width), i32(pool),
        f32(np.concatenate(s.biases or [np.zeros(0)])),
        i32(out.indptr), i32(out.indices), f32(out.data), f32(s.out_bias))

  def nnz(self) -> int:
    """Kept weights stored (embedding, taps, output)."""
    return int(self.emb_data.size + self.tap_weight.size
               + self.out_data.size)


def available() -> bool:
  """Whether numba (the ``[bench]``/``test`` extra) is installed."""
  return importlib.util.find_spec('numba') is not None


def forward(model: CsrText, ids: np.ndarray) -> np.ndarray:
  """Logits ``[batch, classes]`` (float32) of token ids ``[batch, L]``.

  Raises:
    InputError: ids that are not ``[batch, L]`` integers in
      ``[0, vocabulary)``, too short for the widest filter, or numba
      missing.
  """
  ids = np.asarray(ids)
  vocab = len(model.emb_indptr) - 1
  if (ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer)
      or (ids.size and not 0 <= ids.min() <= ids.max() < vocab)):
    raise errors.InputError(
        f'token ids must be integers [batch, length] in [0, {vocab}); got '
        f'{ids.dtype}{ids.shape}: encode text with lth_jax.data.text.')
  need = int((model.width + model.pool - 1).max(initial=0))
  if ids.shape[1] < need:
    raise errors.InputError(
        f'sequences of length {ids.shape[1]} are too short for the widest '
        f'filter and its pooling (need >= {need} ids).')
  if not available():
    raise errors.InputError('the text CSR path needs numba: pip install '
                            "'lth-jax[bench]'.")
  out = np.empty((len(ids), len(model.out_bias)), np.float32)
  _kernel()(np.ascontiguousarray(ids, np.int32), *model, out)
  return out


@functools.cache
def _kernel():
  """Compiles the kernel on first use (numba imported lazily)."""
  import numba  # pylint: disable=import-outside-toplevel

  @numba.njit(cache=False, nogil=True)
  def run(ids, emb_indptr, emb_indices, emb_data, tap_indptr, tap_filter,
          tap_offset, tap_weight, width, pool, conv_bias, out_indptr,
          out_indices, out_data, out_bias, out):
    length = ids.shape[1]
    filters = len(conv_bias)
    used = np.empty(filters, np.int64)
    for j in range(filters):
      used[j] = (length - width[j] + 1) // pool[j] * pool[j]
    acc = np.empty(filters, np.float32)
    for n in range(ids.shape[0]):
      acc[:] = 0
      for s in range(length):
        v = ids[n, s]
        for e in range(emb_indptr[v], emb_indptr[v + 1]):
          d, x = emb_indices[e], emb_data[e]
          for q in range(tap_indptr[d], tap_indptr[d + 1]):
            j = tap_filter[q]
            t = s - tap_offset[q]
            if 0 <= t < used[j]:
              acc[j] += x * tap_weight[q]
      out[n, :] = out_bias
      for j in range(filters):
        h = conv_bias[j] + acc[j] / used[j]
        for q in range(out_indptr[j], out_indptr[j + 1]):
          out[n, out_indices[q]] += h * out_data[q]

  return run
