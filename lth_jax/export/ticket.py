"""A ticket as a compact, checksummed file: packed mask bits, kept values.

A ticket is a variables tree (``{'params': ..., 'batch_stats': ...}``: the
rewind weights, or the trained ones) and its mask tree (``bool`` leaves,
``None`` for leaves that are never pruned). ``save_ticket`` writes one file::

  b'LTHTICKET\\x01'                 magic and format version
  uint64 little-endian              length of the header
  header                            UTF-8 JSON: model, config, leaves
  payload                           per leaf: mask bits, then values
  sha256                            32 bytes, of everything before it

A masked leaf stores its mask as ``np.packbits`` bits (row-major, then
``zlib``-compressed: at 4 % density the bits are mostly zero) and only the
kept values, in row-major order; any other leaf is stored whole. Values
keep their dtype and bytes, so ``load_dense`` gives back exactly
``values * mask``. A file that is truncated, altered, or not a ticket is a
``CorruptTicketError`` naming it.
"""
import dataclasses
import hashlib
import json
import os
import pathlib
import struct
import zlib
from typing import Any

import jax
import numpy as np

from lth_jax import errors
from lth_jax import files
from lth_jax.pruning import tree_paths

PathLike = str | os.PathLike

MAGIC = b'LTHTICKET\x01'
FORMAT = 1
_DIGEST_BYTES = 32


class CorruptTicketError(errors.CorruptFileError):
  """A ticket file is missing, truncated, altered, or not a ticket."""


@dataclasses.dataclass
class Ticket:
  """A loaded ticket.

  Attributes:
    model: the registered model name (``lth_jax.models.get_model``).
    model_kwargs: its keyword arguments.
    config: free-form JSON metadata (e.g. the run config and level).
    leaves: ``path -> (values, mask)``: the dense values (zeros where
      pruned) and the bool mask, or None for a leaf that is never pruned.
  """
  model: str
  model_kwargs: dict[str, Any]
  config: dict[str, Any]
  leaves: dict[str, tuple[np.ndarray, np.ndarray | None]]

  def dense(self) -> dict[str, Any]:
    """The variables as nested dicts of arrays (pruned weights zero)."""
    return unflatten({p: v for p, (v, _) in self.leaves.items()})

  def masks(self) -> dict[str, Any]:
    """The mask tree (``None`` for never-pruned leaves), nested dicts."""
    return unflatten({p: m for p, (_, m) in self.leaves.items()})

  def kept(self) -> int:
    """Kept entries over the masked leaves."""
    return sum(int(m.sum()) for _, m in self.leaves.values() if m is not None)


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
  """``{'a/b': x}`` -> ``{'a': {'b': x}}``.

  >>> unflatten({'params/d/kernel': 1, 'params/d/bias': 2})
  {'params': {'d': {'kernel': 1, 'bias': 2}}}
  """
  out: dict[str, Any] = {}
  for path, leaf in flat.items():
    node = out
    *parents, name = path.split('/')
    for p in parents:
      node = node.setdefault(p, {})
    node[name] = leaf
  return out


def flat_paths(tree: Any) -> dict[str, Any]:
  """``{path: leaf}`` of a tree (``None`` leaves kept)."""
  flat, _ = jax.tree_util.tree_flatten_with_path(
      tree, is_leaf=lambda x: x is None)
  return {tree_paths.path_to_str(p): x for p, x in flat}


def variable_masks(variables: dict[str, Any], masks: Any) -> dict[str, Any]:
  """Mask per variable path (None: never pruned); masks cover params."""
  flat_masks = flat_paths(masks)
  if 'params' in variables and not any(
      p.startswith('params/') for p in flat_masks):
    flat_masks = {f'params/{p}': m for p, m in flat_masks.items()}
  return flat_masks


def encode(variables: dict[str, Any], masks: Any, *, model: str,
           model_kwargs: dict[str, Any] | None = None,
           config: dict[str, Any] | None = None) -> bytes:
  """The ticket file's bytes (see the module docstring).

  Args:
    variables: ``{'params': ..., ...}`` (or a bare params tree).
    masks: a mask tree over ``variables['params']`` (or over
      ``variables``), bool leaves, ``None`` where never pruned.
    model: the registered model name.
    model_kwargs: the model's keyword arguments (JSON).
    config: any JSON metadata (run config, level, replicate).

  Returns:
    The bytes of the artifact.
  """
  flat_vars = {p: np.asarray(x) for p, x in flat_paths(variables).items()
               if x is not None}
  flat_masks = variable_masks(variables, masks)
  unknown = sorted(p for p, m in flat_masks.items()
                   if m is not None and p not in flat_vars)
  if unknown:
    raise errors.InputError(
        f'masks name {unknown[0]!r}, which the variables lack '
        f'(they have {sorted(flat_vars)[:6]}).')
  leaves, chunks, offset = [], [], 0
  for path, values in flat_vars.items():
    mask = flat_masks.get(path)
    entry = {'path': path, 'shape': list(values.shape),
             'dtype': values.dtype.str}
    if mask is None:
      parts = [values.tobytes()]
      entry.update(kind='dense', value_bytes=len(parts[0]))
    else:
      mask = np.asarray(mask)
      if mask.shape != values.shape or mask.dtype != np.bool_:
        raise errors.InputError(
            f'the mask of {path!r} is {mask.dtype}{mask.shape}; '
            f'expected bool{values.shape}.')
      bits = zlib.compress(np.packbits(mask.reshape(-1)).tobytes(), 9)
      kept = np.ascontiguousarray(values.reshape(-1)[mask.reshape(-1)])
      parts = [bits, kept.tobytes()]
      entry.update(kind='masked', kept=int(kept.size), mask_bytes=len(bits),
                   value_bytes=len(parts[1]))
    entry['offset'] = offset
    offset += sum(map(len, parts))
    chunks.extend(parts)
    leaves.append(entry)
  header = json.dumps({
      'format': FORMAT, 'model': model, 'model_kwargs': model_kwargs or {},
      'config': config or {}, 'leaves': leaves, 'payload_bytes': offset},
                      sort_keys=True).encode()
  body = b''.join([MAGIC, struct.pack('<Q', len(header)), header, *chunks])
  return body + hashlib.sha256(body).digest()


def decode(data: bytes, name: str = '<bytes>') -> Ticket:
  """Parses and verifies a ticket's bytes.

  Raises:
    CorruptTicketError: naming ``name`` when the bytes are not a whole,
      unaltered ticket.
  """
  def corrupt(what: str) -> CorruptTicketError:
    return CorruptTicketError(
        f'{name} is not a valid ticket: {what}. Export it again with '
        'lth_jax.export.save_ticket.')

  if not data.startswith(MAGIC):
    raise corrupt('it does not start with the ticket magic bytes '
                  '(another file, or another format version)')
  if len(data) < len(MAGIC) + 8 + _DIGEST_BYTES:
    raise corrupt(f'it is truncated ({len(data)} bytes)')
  body, digest = data[:-_DIGEST_BYTES], data[-_DIGEST_BYTES:]
  (header_len,) = struct.unpack_from('<Q', body, len(MAGIC))
  start = len(MAGIC) + 8
  if hashlib.sha256(body).digest() != digest:
    try:
      want = start + header_len + int(json.loads(
          body[start:start + header_len])['payload_bytes']) + _DIGEST_BYTES
    except (ValueError, KeyError, TypeError):
      want = None
    if want is not None and want != len(data):
      raise corrupt(f'it is truncated or extended ({len(data)} bytes, '
                    f'{want} expected)')
    raise corrupt('its sha256 does not match its contents (altered or '
                  'truncated)')
  header = json.loads(body[start:start + header_len])
  payload = memoryview(body)[start + header_len:]
  leaves = {}
  for e in header['leaves']:
    shape, dtype = tuple(e['shape']), np.dtype(e['dtype'])
    at = e['offset']
    if e['kind'] == 'dense':
      values = np.frombuffer(payload[at:at + e['value_bytes']], dtype)
      leaves[e['path']] = (values.reshape(shape).copy(), None)
      continue
    size = int(np.prod(shape))
    bits = zlib.decompress(payload[at:at + e['mask_bytes']])
    mask = np.unpackbits(np.frombuffer(bits, np.uint8), count=size).astype(
        bool)
    at += e['mask_bytes']
    kept = np.frombuffer(payload[at:at + e['value_bytes']], dtype)
    if kept.size != mask.sum() or kept.size != e['kept']:
      raise corrupt(f'leaf {e["path"]!r} has {kept.size} values for '
                    f'{int(mask.sum())} kept entries')
    values = np.zeros(size, dtype)
    values[mask] = kept
    leaves[e['path']] = (values.reshape(shape), mask.reshape(shape))
  return Ticket(header['model'], header['model_kwargs'], header['config'],
                leaves)


def save_ticket(path: PathLike, variables: dict[str, Any], masks: Any, *,
                model: str, model_kwargs: dict[str, Any] | None = None,
                config: dict[str, Any] | None = None) -> int:
  """Writes a ticket file atomically (``encode``); returns its size in bytes.

  >>> import tempfile, jax.numpy as jnp
  >>> d = tempfile.mkdtemp()
  >>> v = {'params': {'d': {'kernel': jnp.arange(4.), 'bias': jnp.ones(1)}}}
  >>> m = {'d': {'kernel': jnp.array([0, 1, 0, 1], bool), 'bias': None}}
  >>> n = save_ticket(f'{d}/t.lth', v, m, model='mlp')
  >>> load_ticket(f'{d}/t.lth').dense()['params']['d']['kernel'].tolist()
  [0.0, 1.0, 0.0, 3.0]
  """
  path = pathlib.Path(path)
  data = encode(variables, masks, model=model, model_kwargs=model_kwargs,
                config=config)
  files.write_bytes_atomic(path, data)
  return len(data)


def load_ticket(path: PathLike) -> Ticket:
  """Reads and verifies a ticket file.

  Raises:
    CorruptTicketError: naming ``path`` when it is missing, truncated,
      altered or not a ticket.
  """
  path = pathlib.Path(path)
  try:
    data = path.read_bytes()
  except OSError as e:
    raise CorruptTicketError(f'cannot read ticket {path}: {e}.') from e
  return decode(data, str(path))
