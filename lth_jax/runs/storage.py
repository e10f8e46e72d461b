"""Reading and writing a lottery run, atomically (paths: ``RunLayout``).

::

  workdir/<run-hash>/config.json
  workdir/<run-hash>/replicate_<r>/init/            params, batch_stats (orbax)
  workdir/<run-hash>/replicate_<r>/rewind_point/    weights at rewind_step
  workdir/<run-hash>/replicate_<r>/level_<L>/masks/         bool masks (orbax)
  workdir/<run-hash>/replicate_<r>/level_<L>/trained/       params, batch_stats
  workdir/<run-hash>/replicate_<r>/level_<L>/metrics.jsonl  one line per eval
  workdir/<run-hash>/replicate_<r>/level_<L>/summary.json   written last
  workdir/<run-hash>/replicate_<r>/level_<L>/checkpoints/step_<S>/

A level is done when its ``summary.json`` exists. A tree (an orbax
directory) appears only complete, with the digest of its arrays, and a
file only whole; what a kill leaves of an unfinished write is hidden
(``is_stale``) and never read. Controls (branches) use the
same layout under ``replicate_<r>/branch_<name>/``.
"""
import os
import pathlib
from typing import Any, Iterable

from lth_jax import errors
from lth_jax import files
# The atomic file and tree I/O every writer of the layout uses.
from lth_jax.files import CorruptTreeError
from lth_jax.files import load_tree
from lth_jax.files import log_corrupt
from lth_jax.files import read_json
from lth_jax.files import read_jsonl
from lth_jax.files import remove
from lth_jax.files import save_tree
from lth_jax.files import save_tree_once
from lth_jax.files import tree_exists
from lth_jax.files import write_json
from lth_jax.files import write_jsonl
from lth_jax.files import write_text_atomic
from lth_jax.runs import layout
from lth_jax.runs import processes
from lth_jax.runs.layout import JobDir
from lth_jax.runs.layout import RunLayout

PathLike = str | os.PathLike


def replicate_dir(run_dir: PathLike, replicate: int) -> pathlib.Path:
  return RunLayout(run_dir).replicate(replicate)


def level_dir(run_dir: PathLike, replicate: int, level: int,
              branch: str | None = None) -> pathlib.Path:
  return RunLayout(run_dir).level(replicate, level, branch)


def stale_paths(run_dir: PathLike) -> list[pathlib.Path]:
  """Leftovers of interrupted work under a run directory, outermost first.

  These are the temporaries of interrupted writes (``is_stale``) and the
  checkpoints of finished levels (a kill after ``summary.json`` is written
  leaves them). Nothing else is ever stale: results are kept.
  """
  root = pathlib.Path(run_dir)
  stale = [p for p in root.rglob('*') if files.is_stale(p.name)]
  stale += [JobDir(p.parent).checkpoints for p in root.rglob(layout.SUMMARY)
            if JobDir(p.parent).checkpoints.exists()]
  return sorted(set(stale), key=lambda p: (len(p.parts), str(p)))


def remove_stale(run_dir: PathLike) -> list[pathlib.Path]:
  """Deletes ``stale_paths(run_dir)``; returns them.

  Call it only while holding the run lock: the temporaries of a live writer
  would look stale.
  """
  stale = stale_paths(run_dir)
  for p in stale:
    if p.exists():
      remove(p)
  return stale


def remove_stale_together(run_dir: PathLike, label: str) -> None:
  """``remove_stale`` in a run that every process writes to.

  Each process first finishes its writes (a barrier): a tree another
  process is still writing sits under a staging name that looks stale, and
  removing it would leave that tree without its files. Process 0 then
  removes, and nobody writes before it is done (a second barrier). Every
  process calls it with the same ``label``; alone, it is ``remove_stale``.
  """
  processes.barrier(f'writes done before removing stale ({label})')
  if processes.is_primary():
    remove_stale(run_dir)
  processes.barrier(f'stale removed ({label})')


def checkpoint_dir(out_dir: PathLike) -> pathlib.Path:
  """Where a level (or any engine run writing to ``out_dir``) checkpoints."""
  return JobDir(out_dir).checkpoints


def init_dir(run_dir: PathLike, replicate: int) -> pathlib.Path:
  return RunLayout(run_dir).init(replicate)


def rewind_point_dir(run_dir: PathLike, replicate: int) -> pathlib.Path:
  return RunLayout(run_dir).rewind_point(replicate)


def level_done(run_dir: PathLike, replicate: int, level: int,
               branch: str | None = None) -> bool:
  """Whether a level's ``summary.json`` (written last) exists."""
  return RunLayout(run_dir).job(replicate, level, branch).done()


def load_level(run_dir: PathLike, replicate: int, level: int,
               masks_like: Any, variables_like: dict[str, Any],
               branch: str | None = None) -> tuple[Any, dict[str, Any]]:
  """A finished level's masks and trained ``{'params', 'batch_stats'}``."""
  job = RunLayout(run_dir).job(replicate, level, branch)
  return (load_tree(job.masks, masks_like),
          load_tree(job.trained, variables_like))


def collect(run_dir: PathLike, branch: str | None = None
            ) -> list[dict[str, Any]]:
  """All level summaries of a run (trunk or one branch), sorted."""
  pattern = RunLayout(run_dir).summaries_glob(branch)
  rows = [read_json(p) for p in pathlib.Path(run_dir).glob(pattern)]
  return sorted(rows, key=lambda r: (r['level'], r['replicate']))


def branch_names(run_dir: PathLike) -> list[str]:
  """The branches (controls and other experiments) present in a run."""
  prefix = layout.branch_name('')
  return sorted({p.name[len(prefix):] for p in
                 pathlib.Path(run_dir).glob(f'replicate_*/{prefix}*')})


def run_summaries(run_dir: PathLike) -> list[dict[str, Any]]:
  """Trunk and branch summaries of one run."""
  rows = collect(run_dir)
  for name in branch_names(run_dir):
    rows += collect(run_dir, name)
  return rows


def read_config(run_dir: PathLike) -> dict[str, Any]:
  """The flat resolved config written beside a run's results."""
  return read_json(RunLayout(run_dir).config)


def run_label(run_dir: PathLike) -> str:
  """``'<model> <run-hash>'`` from the run's ``config.json``."""
  run_dir = pathlib.Path(run_dir)
  return f"{read_config(run_dir).get('model', '?')} {run_dir.name}"


def find_runs(paths: Iterable[PathLike]) -> list[pathlib.Path]:
  """The run directories among ``paths`` and directly under them.

  Raises:
    FileNotFoundError: if a path does not exist or holds no run.
  """
  runs = []
  for p in map(pathlib.Path, paths):
    if not p.is_dir():
      raise errors.MissingInputError(
          f'{p} is not a directory; pass a --workdir '
          'of experiments.lottery or a run directory '
          'under it.')
    found = ([p] if RunLayout(p).config.exists() else
             sorted(d for d in p.iterdir() if RunLayout(d).config.exists()))
    if not found:
      raise errors.MissingInputError(
          f'no lottery run under {p}: a run directory holds config.json '
          '(workdir/<run-hash>/config.json).')
    runs += found
  return runs
