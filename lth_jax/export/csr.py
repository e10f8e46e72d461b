"""CPU sparse inference of an MLP ticket: CSR kernels, slimmed first.

``CsrMLP.from_slim`` stores each layer of a ``SlimMLP`` (see ``slim``) as a
CSR matrix ``[out, in]`` of its non-zero weights; ``forward`` runs the
ReLU MLP on NumPy inputs with one of two backends:

* ``'numba'`` (when numba is installed, the ``[bench]`` extra): one
  compiled function per call. At batch 1 it walks the rows (a gather-dot
  per output unit, no temporaries); at larger batches it keeps the
  activations as ``[units, batch]`` and adds ``weight * row`` per kept
  weight (contiguous along the batch, vectorised); one thread (a
  ``prange`` over rows lost badly on a shared 2-core machine).
* ``'scipy'``: ``scipy.sparse`` CSR products (``W @ h``), one call per
  layer.

Logits equal the dense masked forward's up to float reassociation.
"""
import functools
from typing import NamedTuple

import numpy as np
from scipy import sparse

from lth_jax.export import slim as slim_lib

BACKENDS = ('numba', 'scipy')


class CsrMLP(NamedTuple):
  """A slim MLP as CSR layers (all layers' arrays concatenated).

  Attributes:
    inputs: int ``[k]``: input features read (of the flattened input).
    sizes: int ``[L + 1]``: widths, inputs first.
    indptr: int32, per layer ``out + 1`` row pointers (layer-local).
    indices, data: per layer the column indices and values, concatenated.
    bias: float32, per layer ``out`` biases, concatenated.
    offsets: int64 ``[L, 3]``: per layer, where its indptr, indices/data
      and bias start.
  """
  inputs: np.ndarray
  sizes: np.ndarray
  indptr: np.ndarray
  indices: np.ndarray
  data: np.ndarray
  bias: np.ndarray
  offsets: np.ndarray

  @classmethod
  def from_slim(cls, s: slim_lib.SlimMLP) -> 'CsrMLP':
    mats = [sparse.csr_matrix(k.T) for k in s.kernels]
    for m in mats:
      m.sort_indices()
    offsets = np.zeros((len(mats), 3), np.int64)
    offsets[1:, 0] = np.cumsum([m.shape[0] + 1 for m in mats])[:-1]
    offsets[1:, 1] = np.cumsum([m.nnz for m in mats])[:-1]
    offsets[1:, 2] = np.cumsum([m.shape[0] for m in mats])[:-1]
    return cls(
        s.inputs.astype(np.int64),
        np.array([len(s.inputs)] + [m.shape[0] for m in mats], np.int64),
        np.concatenate([m.indptr for m in mats]).astype(np.int32),
        np.concatenate([m.indices for m in mats]).astype(np.int32),
        np.concatenate([m.data for m in mats]).astype(np.float32),
        np.concatenate(s.biases).astype(np.float32), offsets)

  def nnz(self) -> int:
    return int(self.data.size)

  def scipy_layers(self) -> list[tuple[sparse.csr_matrix, np.ndarray]]:
    """Per layer, the CSR matrix ``[out, in]`` and the bias."""
    out = []
    for l, (p, z, b) in enumerate(self.offsets):
      rows, cols = self.sizes[l + 1], self.sizes[l]
      ptr = self.indptr[p:p + rows + 1]
      nnz = ptr[-1]
      out.append((sparse.csr_matrix(
          (self.data[z:z + nnz], self.indices[z:z + nnz], ptr),
          shape=(rows, cols)), self.bias[b:b + rows]))
    return out


def available_backends() -> tuple[str, ...]:
  """The backends usable here (numba only where it is installed)."""
  try:
    import numba  # pylint: disable=import-outside-toplevel,unused-import
  except ImportError:
    return ('scipy',)
  return BACKENDS


def forward(model: CsrMLP, x: np.ndarray, backend: str = 'numba'
            ) -> np.ndarray:
  """Logits ``[batch, classes]`` (float32) of inputs ``[batch, ...]``."""
  x = np.asarray(x, np.float32).reshape(len(x), -1)
  if backend == 'scipy':
    return _scipy_forward(model, x)
  if backend != 'numba':
    raise ValueError(f'unknown backend {backend!r}; known: {BACKENDS}.')
  kernels = _numba_kernels()
  out = np.empty((len(x), int(model.sizes[-1])), np.float32)
  fn = kernels[0] if len(x) == 1 else kernels[1]
  fn(x, model.inputs, model.sizes, model.indptr, model.indices, model.data,
     model.bias, model.offsets, out)
  return out


def _scipy_forward(model: CsrMLP, x: np.ndarray) -> np.ndarray:
  h = np.ascontiguousarray(x[:, model.inputs].T)
  layers = model.scipy_layers()
  for i, (w, b) in enumerate(layers):
    h = w @ h
    h += b[:, None]
    if i < len(layers) - 1:
      np.maximum(h, 0, out=h)
  return np.ascontiguousarray(h.T)


@functools.cache
def _numba_kernels():
  """Compiles the two kernels on first use (numba imported lazily)."""
  import numba  # pylint: disable=import-outside-toplevel

  @numba.njit(cache=False, nogil=True)
  def one(x, inputs, sizes, indptr, indices, data, bias, offsets, out):
    width = sizes.max()
    h = np.empty(width, np.float32)
    g = np.empty(width, np.float32)
    for j in range(sizes[0]):
      h[j] = x[0, inputs[j]]
    last = len(sizes) - 2
    for l in range(last + 1):
      p, z, b = offsets[l, 0], offsets[l, 1], offsets[l, 2]
      for r in range(sizes[l + 1]):
        acc = bias[b + r]
        for k in range(indptr[p + r], indptr[p + r + 1]):
          acc += data[z + k] * h[indices[z + k]]
        g[r] = acc if l == last or acc > 0 else np.float32(0)
      h, g = g, h
    for r in range(sizes[-1]):
      out[0, r] = h[r]

  @numba.njit(cache=False, nogil=True, fastmath=True)
  def many(x, inputs, sizes, indptr, indices, data, bias, offsets, out):
    n = x.shape[0]
    h = np.empty((sizes[0], n), np.float32)
    for s in range(n):
      for j in range(sizes[0]):
        h[j, s] = x[s, inputs[j]]
    last = len(sizes) - 2
    for l in range(last + 1):
      p, z, b = offsets[l, 0], offsets[l, 1], offsets[l, 2]
      g = np.empty((sizes[l + 1], n), np.float32)
      for r in range(sizes[l + 1]):
        g[r, :] = bias[b + r]
        for k in range(indptr[p + r], indptr[p + r + 1]):
          w, col = data[z + k], indices[z + k]
          for s in range(n):
            g[r, s] += w * h[col, s]
        if l < last:
          for s in range(n):
            g[r, s] = max(g[r, s], np.float32(0))
      h = g
    for s in range(n):
      for r in range(sizes[-1]):
        out[s, r] = h[r, s]

  return one, many
