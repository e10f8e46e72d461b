"""Reader for the IDX format of MNIST and Fashion-MNIST (``*-ubyte.gz``)."""
import gzip
import pathlib
import struct
import zlib

import numpy as np

from lth_jax import errors

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: '>i2', 0x0C: '>i4',
           0x0D: '>f4', 0x0E: '>f8'}


class IdxFormatError(errors.DataError, ValueError):
  """The file is not a well-formed (gzipped) IDX file."""


def parse_idx(data: bytes, name: str = '<bytes>') -> np.ndarray:
  """Parses raw (uncompressed) IDX bytes into an array."""
  if len(data) < 4 or data[0] != 0 or data[1] != 0:
    raise IdxFormatError(f'{name}: not an IDX file (bad magic number).')
  dtype, ndim = data[2], data[3]
  if dtype not in _DTYPES:
    raise IdxFormatError(f'{name}: unknown IDX element type 0x{dtype:02x}.')
  header = 4 + 4 * ndim
  if len(data) < header:
    raise IdxFormatError(f'{name}: truncated IDX header.')
  shape = struct.unpack(f'>{ndim}I', data[4:header])
  dt = np.dtype(_DTYPES[dtype])
  expected = int(np.prod(shape)) * dt.itemsize
  if len(data) - header != expected:
    raise IdxFormatError(
        f'{name}: truncated or padded IDX body: {len(data) - header} bytes '
        f'for shape {shape} ({expected} expected).')
  return np.frombuffer(data, dt, offset=header).reshape(shape).astype(
      dt.newbyteorder('='))


def read_idx(path: str | pathlib.Path) -> np.ndarray:
  """Reads a ``.gz`` (or plain) IDX file."""
  path = pathlib.Path(path)
  raw = path.read_bytes()
  if path.suffix == '.gz':
    try:
      raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
      raise IdxFormatError(f'{path}: corrupt gzip stream ({e}).') from e
  return parse_idx(raw, str(path))
