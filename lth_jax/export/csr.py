"""CPU sparse inference of an MLP ticket: CSR kernels, slimmed first.

``CsrMLP.from_slim`` stores each layer of a ``SlimMLP`` (see ``slim``) as
CSR matrices of its non-zero weights; ``forward`` runs the ReLU MLP on
NumPy inputs with one of two backends:

* ``'numba'`` (when numba is installed, the ``[bench]`` extra): one
  compiled function per call. At batch 1 it walks the inputs of each
  layer and scatters each non-zero one along its kept weights (``[in,
  out]`` CSR: zero pixels and dead ReLUs cost nothing); at larger batches
  it keeps the activations as ``[units, batch]`` and, per output unit
  (``[out, in]`` CSR), adds ``weight * row`` per kept weight (contiguous
  along the batch, vectorised); one thread (a ``prange`` over rows lost
  badly on a shared 2-core machine).
* ``'scipy'``: ``scipy.sparse`` CSR products (``W @ h``), one call per
  layer.

Logits equal the dense masked forward's up to float reassociation.
"""
import functools
import importlib.util
from typing import NamedTuple

import numpy as np
from scipy import sparse

from lth_jax import errors
from lth_jax.export import slim as slim_lib

BACKENDS = ('numba', 'scipy')


class Csr(NamedTuple):
  """Every layer's CSR arrays, concatenated (indptr is layer-local).

  Attributes:
    indptr: int32, per layer ``rows + 1`` row pointers.
    indices, data: int32 columns and float32 values of the non-zeros.
    offsets: int64 ``[L, 2]``: where each layer's indptr and non-zeros
      start.
  """
  indptr: np.ndarray
  indices: np.ndarray
  data: np.ndarray
  offsets: np.ndarray

  @classmethod
  def of(cls, mats: list[sparse.csr_matrix]) -> 'Csr':
    offsets = np.zeros((len(mats), 2), np.int64)
    offsets[1:, 0] = np.cumsum([m.shape[0] + 1 for m in mats])[:-1]
    offsets[1:, 1] = np.cumsum([m.nnz for m in mats])[:-1]
    return cls(np.concatenate([m.indptr for m in mats]).astype(np.int32),
               np.concatenate([m.indices for m in mats]).astype(np.int32),
               np.concatenate([m.data for m in mats]).astype(np.float32),
               offsets)


class CsrMLP(NamedTuple):
  """A slim MLP as CSR layers.

  Attributes:
    inputs: int ``[k]``: input features read (of the flattened input).
    sizes: int ``[L + 1]``: widths, inputs first.
    bias: float32, the layers' biases concatenated.
    bias_offsets: int64 ``[L]``: where each layer's bias starts.
    by_out: the weights as ``[out, in]`` CSR (a row per output unit: the
      batch kernel and scipy).
    by_in: the weights as ``[in, out]`` CSR (a row per input: the batch-1
      kernel, which skips inputs that are zero).
  """
  inputs: np.ndarray
  sizes: np.ndarray
  bias: np.ndarray
  bias_offsets: np.ndarray
  by_out: Csr
  by_in: Csr

  @classmethod
  def from_slim(cls, s: slim_lib.SlimMLP) -> 'CsrMLP':
    by_out = [sparse.csr_matrix(k.T) for k in s.kernels]
    by_in = [sparse.csr_matrix(k) for k in s.kernels]
    for m in by_out + by_in:
      m.sort_indices()
    widths = [len(b) for b in s.biases]
    return cls(s.inputs.astype(np.int64),
               np.array([len(s.inputs)] + widths, np.int64),
               np.concatenate(s.biases).astype(np.float32),
               np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64),
               Csr.of(by_out), Csr.of(by_in))

  def nnz(self) -> int:
    return int(self.by_out.data.size)

  def scipy_layers(self) -> list[tuple[sparse.csr_matrix, np.ndarray]]:
    """Per layer, the CSR matrix ``[out, in]`` and the bias."""
    out = []
    c = self.by_out
    for l, (p, z) in enumerate(c.offsets):
      rows, cols = self.sizes[l + 1], self.sizes[l]
      ptr = c.indptr[p:p + rows + 1]
      nnz = ptr[-1]
      b = self.bias_offsets[l]
      out.append((sparse.csr_matrix(
          (c.data[z:z + nnz], c.indices[z:z + nnz], ptr),
          shape=(rows, cols)), self.bias[b:b + rows]))
    return out


def available_backends() -> tuple[str, ...]:
  """The backends usable here (numba only where it is installed)."""
  return BACKENDS if importlib.util.find_spec('numba') else ('scipy',)


def forward(model: CsrMLP, x: np.ndarray, backend: str = 'numba'
            ) -> np.ndarray:
  """Logits ``[batch, classes]`` (float32) of inputs ``[batch, ...]``."""
  x = np.asarray(x, np.float32).reshape(len(x), -1)
  if backend == 'scipy':
    return _scipy_forward(model, x)
  if backend != 'numba':
    raise errors.InputError(f'unknown backend {backend!r}; known: {BACKENDS}.')
  one, many = _numba_kernels()
  out = np.empty((len(x), int(model.sizes[-1])), np.float32)
  if len(x) == 1:
    one(x, model.inputs, model.sizes, *model.by_in, model.bias,
        model.bias_offsets, out)
  else:
    many(x, model.inputs, model.sizes, *model.by_out, model.bias,
         model.bias_offsets, out)
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
  def one(x, inputs, sizes, indptr, indices, data, offsets, bias,
          bias_offsets, out):
    width = sizes.max()
    h = np.empty(width, np.float32)
    g = np.empty(width, np.float32)
    for j in range(sizes[0]):
      h[j] = x[0, inputs[j]]
    last = len(sizes) - 2
    for l in range(last + 1):
      p, z, b = offsets[l, 0], offsets[l, 1], bias_offsets[l]
      for r in range(sizes[l + 1]):
        g[r] = bias[b + r]
      for j in range(sizes[l]):
        v = h[j]
        if v != 0:  # Zero inputs (and dead ReLUs) add nothing.
          for k in range(indptr[p + j], indptr[p + j + 1]):
            g[indices[z + k]] += v * data[z + k]
      if l < last:
        for r in range(sizes[l + 1]):
          g[r] = max(g[r], np.float32(0))
      h, g = g, h
    for r in range(sizes[-1]):
      out[0, r] = h[r]

  @numba.njit(cache=False, nogil=True, fastmath=True)
  def many(x, inputs, sizes, indptr, indices, data, offsets, bias,
           bias_offsets, out):
    n = x.shape[0]
    h = np.empty((sizes[0], n), np.float32)
    for s in range(n):
      for j in range(sizes[0]):
        h[j, s] = x[s, inputs[j]]
    last = len(sizes) - 2
    for l in range(last + 1):
      p, z, b = offsets[l, 0], offsets[l, 1], bias_offsets[l]
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
