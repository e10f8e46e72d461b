"""Atomic, digest-checked files and pytrees.

A file is written via a temporary and ``os.replace`` (never half a file); a
pytree (orbax) is written under a hidden staging name, with the sha256 of
its arrays, and renamed into place, so a reader sees a complete tree or
none. What a kill leaves of an unfinished write is recognised by
``is_stale`` and never read. The run layout built on these lives in
``lth_jax.runs.storage``; the training engine's checkpoints use them too.
"""
import asyncio
import csv
import hashlib
import io
import json
import os
import pathlib
import shutil
from typing import Any, Iterable, Sequence

from absl import logging
import jax
import numpy as np
import orbax.checkpoint as ocp
import tensorstore as ts

from lth_jax import errors
from lth_jax.pruning import tree_paths

PathLike = str | os.PathLike

#: The file beside a tree's arrays holding their digest (``tree_digest``).
DIGEST_FILE = 'lth_sha256.json'
#: A directory being deleted is first renamed to end with this.
TRASH_SUFFIX = '.deleting'


def write_bytes_atomic(path: PathLike, data: bytes) -> None:
  """Writes via a temporary file and ``os.replace`` (never half a file)."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(f'.{path.name}.tmp.{os.getpid()}')
  with open(tmp, 'wb') as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


def write_text_atomic(path: PathLike, text: str) -> None:
  """``write_bytes_atomic`` of ``text`` in UTF-8."""
  write_bytes_atomic(path, text.encode('utf-8'))


def write_json(path: PathLike, obj: Any) -> None:
  write_text_atomic(path, json.dumps(obj, indent=1, sort_keys=True) + '\n')


def write_jsonl(path: PathLike, rows: Iterable[dict[str, Any]]) -> None:
  write_text_atomic(path, ''.join(json.dumps(r, sort_keys=True) + '\n'
                                  for r in rows))


def read_json(path: PathLike) -> Any:
  with open(path) as f:
    return json.load(f)


def read_jsonl(path: PathLike) -> list[dict[str, Any]]:
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def csv_text(rows: Sequence[dict[str, Any]],
             columns: Sequence[str] | None = None,
             decimals: int | None = None) -> str:
  """``rows`` as CSV text: ``columns`` (default: every key, first seen
  first; other keys are left out), floats to ``decimals`` places if given.

  >>> print(csv_text([{'a': 1, 'b': 0.12345}, {'a': 2, 'c': 'x'}], decimals=2))
  a,b,c
  1,0.12,
  2,,x
  <BLANKLINE>
  """
  if columns is None:
    columns = list(dict.fromkeys(k for r in rows for k in r))
  out = io.StringIO()
  writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator='\n',
                          extrasaction='ignore')
  writer.writeheader()
  for row in rows:
    writer.writerow({k: (f'{v:.{decimals}f}' if decimals is not None
                         and isinstance(v, float) else v)
                     for k, v in row.items()})
  return out.getvalue()


def write_csv(path: PathLike, rows: Sequence[dict[str, Any]],
              columns: Sequence[str] | None = None,
              decimals: int | None = None) -> None:
  """Writes ``csv_text(rows, columns, decimals)`` atomically."""
  write_text_atomic(path, csv_text(rows, columns, decimals))


class CorruptTreeError(errors.CorruptFileError):
  """A saved tree is missing, unreadable, altered, or not the expected tree."""


def _this_process_options() -> ocp.options.MultiprocessingOptions:
  """Several JAX processes: each saves and reads trees on its own (host
  arrays, no barrier with the others)."""
  index = jax.process_index()
  return ocp.options.MultiprocessingOptions(
      primary_host=index, active_processes={index},
      barrier_sync_key_prefix=f'process_{index}')


def _reader() -> ocp.StandardCheckpointer:
  """The checkpointer ``load_tree`` reads with."""
  if jax.process_count() == 1:
    return ocp.StandardCheckpointer()
  return ocp.StandardCheckpointer(
      multiprocessing_options=_this_process_options())


async def _write_arrays(values, infos, args) -> None:
  """Writes each array to orbax's place for it, from this process."""
  writes = []
  for value, info, arg in zip(values, infos, args, strict=True):
    await info.await_path_creation()
    ocdbt = info.is_ocdbt_checkpoint
    spec = ocp.type_handlers.get_json_tspec_write(
        info, use_ocdbt=ocdbt, global_shape=value.shape,
        local_shape=value.shape, dtype=value.dtype, arg=arg,
        process_index=jax.process_index() if ocdbt else None)
    writes.append(_write_array(value, spec, info.ts_context))
  await asyncio.gather(*writes)


async def _write_array(value: np.ndarray, spec: dict[str, Any],
                       context: ts.Context) -> None:
  store = await ts.open(ts.Spec(spec), create=True, open=True,
                        context=context)
  await store.write(value)


class _ThisProcessNumpyHandler(ocp.type_handlers.TypeHandler):
  """orbax's NumPy handler, writing from whichever process saves.

  orbax's ``NumpyHandler`` assumes every process holds the same replicated
  array and writes from process 0 only, and its ``ArrayHandler`` refuses a
  host-local ``jax.Array`` when there are several processes; so a tree saved
  by another process would have no data. Here each process saves its own
  trees (``lth_jax.runs.processes``) and writes what it saves, through
  orbax's public ``TypeHandler`` interface and its tensorstore specs
  (``type_handlers.get_json_tspec_write``); the layout on disk is orbax's
  own (``ocdbt.process_<i>/``), read back by its ``NumpyHandler``.
  """

  def __init__(self):
    self.reader = ocp.type_handlers.NumpyHandler()

  def typestr(self) -> str:
    return self.reader.typestr()

  async def metadata(self, infos):
    return await self.reader.metadata(infos)

  async def serialize(self, values, infos, args=None):
    args = args or [ocp.SaveArgs()] * len(values)
    ocp.type_handlers.check_input_arguments(values, infos, args)
    return [ocp.future.CommitFutureAwaitingContractedSignals(
        _write_arrays(values, infos, args), name='lth_numpy_handler')]

  async def deserialize(self, infos, args=None):
    return await self.reader.deserialize(infos, args)


def _saver() -> ocp.AbstractCheckpointer:
  """The checkpointer ``save_tree`` writes host trees with."""
  if jax.process_count() == 1:
    return ocp.StandardCheckpointer()
  options = _this_process_options()
  registry = ocp.type_handlers.create_type_handler_registry(
      (np.ndarray, _ThisProcessNumpyHandler()),
      # Host trees hold no jax.Array; orbax warns at every save without one.
      (jax.Array, ocp.type_handlers.ArrayHandler()))
  return ocp.Checkpointer(ocp.PyTreeCheckpointHandler(
      type_handler_registry=registry, multiprocessing_options=options),
                          multiprocessing_options=options)


def _restore(ckpt: ocp.StandardCheckpointer, path: pathlib.Path) -> Any:
  """A saved tree as NumPy arrays, whichever process or device wrote it."""
  meta = ckpt.metadata(path).item_metadata
  if meta is None:
    raise errors.InputError('its _METADATA (the tree\'s structure) is missing')
  return ckpt.restore(path, jax.tree.map(
      lambda m: np.empty(m.shape, m.dtype), meta.tree))


def _staging(path: pathlib.Path, tag: str) -> pathlib.Path:
  return path.with_name(f'.{path.name}.{tag}')


def tree_digest(tree: Any) -> str:
  """sha256 of a tree's leaves (dtype, shape, bytes), independent of order.

  Stored beside every saved tree, it catches corruption that orbax reads back
  without an error (a flipped byte in compressed data).

  >>> import numpy as np
  >>> tree_digest({'a': np.zeros(2), 'b': None}) == tree_digest([np.zeros(2)])
  True
  """
  leaves = sorted(
      hashlib.sha256(f'{a.dtype.str}{a.shape}'.encode() + a.tobytes()
                     ).hexdigest()
      for a in map(np.asarray, jax.tree.leaves(tree)))
  return hashlib.sha256(''.join(leaves).encode()).hexdigest()


def save_tree(path: PathLike, tree: Any) -> None:
  """Saves a pytree of arrays with orbax, atomically, with its digest.

  The tree is written under a hidden staging name and renamed into place, so
  whenever the process dies ``path`` holds a complete tree (the old one or
  the new one) or none: never a partial one.
  """
  path = pathlib.Path(path).absolute()
  host = jax.tree.map(np.asarray, jax.device_get(tree))  # scalars too
  new, old = _staging(path, 'new'), _staging(path, 'old')
  remove(new)
  remove(old)
  ckpt = _saver()
  ckpt.save(new, host)
  if isinstance(ckpt, ocp.AsyncCheckpointer):
    ckpt.wait_until_finished()
  write_json(new / DIGEST_FILE, {'sha256': tree_digest(host)})
  if not tree_exists(new):  # Never rename a tree without its files.
    raise CorruptTreeError(
        f'{new} lost its files while it was written: another process '
        'removed it as a leftover. Remove stale files only once every '
        'process has finished writing (runs.storage.remove_stale_together).')
  if path.exists():
    os.replace(path, old)
  os.replace(new, path)
  remove(old)


def save_tree_once(path: PathLike, tree: Any) -> None:
  """``save_tree`` unless a complete tree is already at ``path`` (a start
  mask, an init or a capture is written once and never rewritten)."""
  if not tree_exists(path):
    save_tree(path, tree)


def _mismatch(path: pathlib.Path, what: str) -> CorruptTreeError:
  return CorruptTreeError(f'{path} does not hold the expected tree: {what}. '
                          'It was saved for another model or config.')


def _matching(restored: Any, like: Any, path: pathlib.Path) -> Any:
  """``restored`` in the structure of ``like``, checking every leaf."""
  got = dict(zip(tree_paths.leaf_paths(restored), jax.tree.leaves(restored)))
  flat, treedef = jax.tree_util.tree_flatten_with_path(like)
  leaves = []
  for key_path, want in flat:
    name = tree_paths.path_to_str(key_path)
    if name not in got:
      raise _mismatch(path, f'it lacks {name!r} (it has {sorted(got)[:8]})')
    leaf = np.asarray(got.pop(name))
    dtype = getattr(want, 'dtype', None)  # None: a Python scalar, any dtype
    if leaf.shape != np.shape(want) or (
        dtype is not None and leaf.dtype != np.dtype(dtype)):
      raise _mismatch(path, f'{name!r} is {leaf.dtype}{leaf.shape}, expected '
                      f'{dtype or ""}{np.shape(want)}')
    leaves.append(leaf)
  if got:
    raise _mismatch(path, f'it has an extra {sorted(got)[0]!r}')
  return jax.tree.unflatten(treedef, leaves)


def load_tree(path: PathLike, like: Any = None) -> Any:
  """Restores a pytree saved by ``save_tree``, verifying its digest.

  Args:
    path: the tree's directory.
    like: optional tree of the expected structure, shapes and dtypes; the
      result takes its structure (containers, ``None`` leaves).

  Raises:
    CorruptTreeError: naming ``path`` (and the first mismatching leaf path)
      when the tree is missing, unreadable, altered, or not like ``like``.
  """
  path = pathlib.Path(path).absolute()
  if not tree_exists(path):
    raise CorruptTreeError(f'{path} is missing or incomplete (no '
                           '_CHECKPOINT_METADATA).')
  try:
    restored = _restore(_reader(), path)
    digest = path / DIGEST_FILE
    expected = read_json(digest)['sha256'] if digest.exists() else None
  except (OSError, ValueError, KeyError, TypeError) as e:
    first_line = str(e).strip().split('\n')[0][:300]
    raise CorruptTreeError(f'{path} is unreadable ({type(e).__name__}: '
                           f'{first_line}).') from e
  if expected is not None and tree_digest(restored) != expected:
    raise CorruptTreeError(f'{path} is corrupt: its arrays do not match the '
                           f'digest in {DIGEST_FILE}.')
  return restored if like is None else _matching(restored, like, path)


def tree_exists(path: PathLike) -> bool:
  """Whether a complete tree is at ``path`` (``save_tree`` writes no other)."""
  path = pathlib.Path(path)
  return path.is_dir() and (path / '_CHECKPOINT_METADATA').exists()


def remove(path: PathLike) -> None:
  """Deletes a tree or file; a directory is first renamed away (atomic)."""
  path = pathlib.Path(path)
  if path.is_dir() and not path.name.endswith(TRASH_SUFFIX):
    trash = path.with_name(f'.{path.name}.{os.getpid()}{TRASH_SUFFIX}')
    shutil.rmtree(trash, ignore_errors=True)
    os.replace(path, trash)
    path = trash
  if path.is_dir():
    shutil.rmtree(path, ignore_errors=True)
  else:
    path.unlink(missing_ok=True)


def is_stale(name: str) -> bool:
  """Whether a file name is a leftover of a write that a kill interrupted.

  >>> [is_stale(n) for n in ('.trained.new', 'trained', 'step_5.metrics.json',
  ...                        '.summary.json.tmp.42', 'x.orbax-checkpoint-tmp')]
  [True, False, False, True, True]
  """
  return (ocp.utils.TMP_DIR_SUFFIX in name or name.endswith(TRASH_SUFFIX)
          or (name.startswith('.') and (name.endswith(('.new', '.old'))
                                        or '.tmp.' in name)))


def log_corrupt(path: PathLike, error: Exception) -> None:
  logging.warning('checkpoint %s is incomplete or corrupt (%s: %s); using '
                  'the previous one.', path, type(error).__name__, error)
