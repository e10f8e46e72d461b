"""The on-disk layout of a lottery run, written atomically.

::

  workdir/<run-hash>/config.json
  workdir/<run-hash>/replicate_<r>/init/            params, batch_stats (orbax)
  workdir/<run-hash>/replicate_<r>/rewind_point/    weights at rewind_step
  workdir/<run-hash>/replicate_<r>/level_<L>/masks/         bool masks (orbax)
  workdir/<run-hash>/replicate_<r>/level_<L>/trained/       params, batch_stats
  workdir/<run-hash>/replicate_<r>/level_<L>/metrics.jsonl  one line per eval
  workdir/<run-hash>/replicate_<r>/level_<L>/summary.json   written last
  workdir/<run-hash>/replicate_<r>/level_<L>/checkpoints/step_<S>/

A level is done when its ``summary.json`` exists. Controls (branches) use the
same layout under ``replicate_<r>/branch_<name>/``.
"""
import json
import os
import pathlib
import shutil
from typing import Any, Iterable

from absl import logging
import jax
import orbax.checkpoint as ocp

PathLike = str | os.PathLike


def replicate_dir(run_dir: PathLike, replicate: int) -> pathlib.Path:
  return pathlib.Path(run_dir) / f'replicate_{replicate}'


def level_dir(run_dir: PathLike, replicate: int, level: int,
              branch: str | None = None) -> pathlib.Path:
  base = replicate_dir(run_dir, replicate)
  if branch:
    base = base / f'branch_{branch}'
  return base / f'level_{level}'


def write_text_atomic(path: PathLike, text: str) -> None:
  """Writes via a temporary file and ``os.replace`` (never half a file)."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(f'.{path.name}.tmp.{os.getpid()}')
  with open(tmp, 'w') as f:
    f.write(text)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


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


def _checkpointer() -> ocp.StandardCheckpointer:
  return ocp.StandardCheckpointer()


def save_tree(path: PathLike, tree: Any) -> None:
  """Saves a pytree of arrays with orbax (atomic: temp dir, then rename)."""
  path = pathlib.Path(path).absolute()
  if path.exists():
    shutil.rmtree(path)
  ckpt = _checkpointer()
  ckpt.save(path, jax.device_get(tree))
  ckpt.wait_until_finished()


def load_tree(path: PathLike, like: Any = None) -> Any:
  """Restores a pytree saved by ``save_tree`` (structure from ``like``)."""
  path = pathlib.Path(path).absolute()
  target = None if like is None else jax.tree.map(
      ocp.utils.to_shape_dtype_struct, jax.device_get(like))
  return _checkpointer().restore(path, target)


def tree_exists(path: PathLike) -> bool:
  """Whether a complete orbax checkpoint is at ``path``."""
  path = pathlib.Path(path)
  return path.is_dir() and (path / '_CHECKPOINT_METADATA').exists()


def remove(path: PathLike) -> None:
  shutil.rmtree(path, ignore_errors=True)


def log_corrupt(path: PathLike, error: Exception) -> None:
  logging.warning('checkpoint %s is incomplete or corrupt (%s: %s); using '
                  'the previous one.', path, type(error).__name__, error)
