"""2:4 tickets in the layout of GPU sparse tensor cores: values + metadata.

NVIDIA's sparse tensor cores (``mma.sp``, cuSPARSELt) multiply a matrix
``A [M, K]`` that keeps at most 2 of every 4 consecutive entries of each
row, stored as the kept values ``[M, K / 2]`` and, per value, its 2-bit
position inside its group of 4 (the *metadata*). Here ``A`` is a layer's
weight as a GEMM operand, ``[out, K]``: a Dense kernel ``[in, out]``
transposed (``K = in``), a conv kernel ``[h, w, in, out]`` as
``[out, h * w * in]`` (the NHWC implicit-GEMM order, so that the groups of
``lth_jax.pruning.structured.prune_n_m``, 4 consecutive ``in``, stay
together when ``in`` is a multiple of 4).

Per group the two positions are ascending; a group keeping fewer than 2
weights is completed with zero values at its first free positions. The
metadata of a row is its 2-bit indices in order, packed little-endian, 8
per ``uint16`` (16 entries of ``K``); ``K`` is padded with zeros to a
multiple of 16. This is the logical ``mma.sp`` metadata (sparsity selector
0); the hardware-specific reordering of metadata words that cuSPARSELt
applies when it compresses a matrix is not done here, and nothing here was
run on a GPU. ``decompress`` is the NumPy decoder.

>>> w = np.array([[0., 1., 0., 2.]], np.float32).T  # Dense [in=4, out=1]
>>> p = compress(w, w != 0)
>>> p.values.tolist()
[[1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]
>>> bin(int(p.metadata[0, 0]))  # 1, 3 (0b1101), then 0, 1 per pad group
'0b100010001001101'
>>> bool((decompress(p) == w).all())
True
"""
from typing import NamedTuple

import numpy as np

from lth_jax import errors

GROUP, KEEP, PACK = 4, 2, 16  # 2 of 4; one uint16 covers 16 entries of K.


class Packed24(NamedTuple):
  """A 2:4 weight: ``values [out, K' / 2]``, ``metadata uint16 [out,
  K' / 16]`` (``K'``: ``K`` padded to 16), and the Flax kernel's shape."""
  values: np.ndarray
  metadata: np.ndarray
  shape: tuple[int, ...]


def _gemm(kernel: np.ndarray) -> np.ndarray:
  """A Flax kernel ``[..., in, out]`` as the operand ``[out, K]``."""
  return np.asarray(kernel).reshape(-1, kernel.shape[-1]).T


def compress(kernel: np.ndarray, mask: np.ndarray,
             name: str = 'kernel') -> Packed24:
  """Packs a 2:4-masked Flax kernel (see the module docstring).

  Raises:
    ValueError: naming the first group of ``name`` that keeps more than 2
      of its 4 weights.
  """
  if kernel.shape != mask.shape or kernel.ndim < 2:
    raise errors.InputError(
        f'{name}: kernel {kernel.shape} and mask {mask.shape} '
        'must be one kernel of >= 2 dims and its mask.')
  a = _gemm(np.where(mask, kernel, 0))
  keep = _gemm(mask).astype(bool)
  rows, k = a.shape
  pad = -k % PACK
  a = np.pad(a, ((0, 0), (0, pad))).reshape(rows, -1, GROUP)
  keep = np.pad(keep, ((0, 0), (0, pad))).reshape(rows, -1, GROUP)
  counts = keep.sum(-1)
  if (counts > KEEP).any():
    r, g = np.argwhere(counts > KEEP)[0]
    raise errors.InputError(
        f'{name} is not 2:4: output {r}, inputs {GROUP * g}..{GROUP * g + 3} '
        f'keep {counts[r, g]} weights; prune it with strategy nm (n=2, m=4) '
        'along the input axis.')
  # Kept positions first, then free ones, each in index order; take 2 and
  # sort them ascending.
  order = np.argsort(~keep, axis=-1, kind='stable')[..., :KEEP]
  index = np.sort(order, axis=-1)
  values = np.take_along_axis(a, index, -1).reshape(rows, -1)
  bits = index.reshape(rows, -1, PACK // KEEP).astype(np.uint16)
  shifts = (2 * np.arange(PACK // KEEP)).astype(np.uint16)
  metadata = (bits << shifts).sum(-1, dtype=np.uint16)
  return Packed24(values, metadata, tuple(kernel.shape))


def decompress(p: Packed24) -> np.ndarray:
  """The NumPy decoder: the dense Flax kernel (zeros where pruned)."""
  rows = p.values.shape[0]
  shifts = (2 * np.arange(PACK // KEEP)).astype(np.uint16)
  index = ((p.metadata[..., None] >> shifts) & 3).reshape(rows, -1, KEEP)
  dense = np.zeros((rows, index.shape[1], GROUP), p.values.dtype)
  np.put_along_axis(dense, index.astype(np.int64),
                    p.values.reshape(rows, -1, KEEP), -1)
  k = int(np.prod(p.shape[:-1]))
  return dense.reshape(rows, -1)[:, :k].T.reshape(p.shape)


def compressed_tensors(leaves: dict[str, tuple[np.ndarray, np.ndarray | None]]
                       ) -> dict[str, np.ndarray]:
  """Every masked kernel of a ticket (``Ticket.leaves``) as ``<path>.values``
  and ``<path>.metadata``; other leaves whole, under their path."""
  out = {}
  for path, (values, mask) in leaves.items():
    if mask is None or values.ndim < 2:
      out[path] = np.asarray(values)
      continue
    p = compress(values, mask, path)
    out[f'{path}.values'], out[f'{path}.metadata'] = p.values, p.metadata
  return out
