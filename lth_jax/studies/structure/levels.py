"""The structure of every level of a finished lottery run, read from disk.

Reads ``replicate_<r>/level_<L>/masks`` (and ``trained`` for the biases)
through ``lottery.storage`` and runs ``structure.analyse`` on each.
"""
import pathlib
from typing import Any, Sequence

from lth_jax import errors
from lth_jax.analysis import structure as structure_lib
from lth_jax.runs import layout
from lth_jax.runs import storage


class LevelReadError(errors.RunStateError):
  """A level directory is missing, unfinished or holds a corrupt tree."""


def load_level(level_dir: Any, like: dict[str, Any]
               ) -> tuple[Any, dict[str, Any]]:
  """A level's masks and trained ``{'params', 'batch_stats'}``.

  Args:
    level_dir: ``.../replicate_<r>/level_<L>``.
    like: ``{'masks': ..., 'variables': ...}`` trees of the expected
      structure (e.g. from ``Experiment.dense_masks`` and the init).

  Raises:
    LevelReadError: naming ``level_dir`` when it is missing, unfinished (no
      ``summary.json``) or a tree in it is corrupt.
  """
  level_dir = pathlib.Path(level_dir)
  job = layout.JobDir(level_dir)
  if not job.done():
    state = 'unfinished (no summary.json)' if level_dir.is_dir() else (
        'missing')
    raise LevelReadError(f'level directory {level_dir} is {state}: run the '
                         'experiment to finish it before analysing it.')
  try:
    masks = storage.load_tree(job.masks, like['masks'])
    trained = storage.load_tree(job.trained, like['variables'])
  except storage.CorruptTreeError as e:
    raise LevelReadError(f'level directory {level_dir} holds a corrupt '
                         f'tree ({e}); delete {level_dir} and run the '
                         'experiment again to recompute it.') from e
  return masks, trained


def analyse_levels(run_dir: Any, replicate: int, like: dict[str, Any],
                   tasks: Sequence[Any], levels: Sequence[int],
                   coverage: str = 'inputs_outputs'
                   ) -> list[structure_lib.Structure]:
  """``structure.analyse`` of each of ``levels`` of one replicate."""
  out = []
  for level in levels:
    masks, trained = load_level(storage.level_dir(run_dir, replicate, level),
                                like)
    out.append(structure_lib.analyse(masks, tasks, trained['params'],
                                     coverage))
  return out
