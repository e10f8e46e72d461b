"""Mid-run checkpoints of the engine: one directory per replicate.

``<dir>/step_<S>/`` holds a replicate's train state (orbax, atomic, with a
digest) and ``<dir>/step_<S>.metrics.json`` its evaluation rows so far and
the pending training-loss sums. A checkpoint counts only when both exist;
the newest ``KEEP`` are kept. A group of replicates resumes from the newest
step that every one of them has intact; an unreadable or altered
checkpoint is reported and the previous one tried.
"""
import pathlib
from typing import Any, Sequence

import jax
import jax.numpy as jnp

from lth_jax import files
from lth_jax.training import state as state_lib

KEEP = 2
PathLike = str | pathlib.Path


def state_tree(state: state_lib.TrainState) -> dict[str, Any]:
  """The arrays of a train state that change during training."""
  return {'params': state.params, 'opt_state': state.opt_state,
          'batch_stats': state.batch_stats, 'step': state.step,
          'data_key': jax.random.key_data(state.data_key)}


def from_state_tree(template: state_lib.TrainState, tree: dict[str, Any]
                    ) -> state_lib.TrainState:
  """``template`` with the arrays of ``state_tree`` put back."""
  return template.replace(
      params=tree['params'], opt_state=tree['opt_state'],
      batch_stats=tree['batch_stats'], step=jnp.asarray(tree['step']),
      data_key=jax.random.wrap_key_data(jnp.asarray(tree['data_key'])))


def checkpoint_steps(directory: PathLike) -> list[int]:
  """The steps with a complete checkpoint in ``directory``, ascending."""
  root = pathlib.Path(directory)
  if not root.is_dir():
    return []
  steps = []
  for d in root.iterdir():
    if d.name.startswith('step_') and d.name[5:].isdigit():
      if files.tree_exists(d) and (root / f'{d.name}.metrics.json').exists():
        steps.append(int(d.name[5:]))
  return sorted(steps)


def save_checkpoint(directory: PathLike, state: state_lib.TrainState,
                    rows: list[dict[str, Any]], pending: dict[str, float]
                    ) -> None:
  """Writes one replicate's checkpoint; keeps the newest ``KEEP``."""
  step = int(state.step)
  root = pathlib.Path(directory)
  files.write_json(root / f'step_{step}.metrics.json',
                   {'rows': rows, 'pending': pending})
  files.save_tree(root / f'step_{step}', state_tree(state))
  for old in checkpoint_steps(root)[:-KEEP]:
    files.remove(root / f'step_{old}')
    files.remove(root / f'step_{old}.metrics.json')


def empty_pending() -> dict[str, float]:
  return {'loss_sum': 0.0, 'steps': 0}


def restore_checkpoint(directories: Sequence[PathLike],
                       states: Sequence[state_lib.TrainState]
                       ) -> tuple[list[Any], list[list], list[dict]]:
  """The newest step every directory has a readable checkpoint for.

  Returns:
    The states (restored, or ``states`` unchanged when there is none), the
    rows and the pending loss sums of each replicate.
  """
  common = set.intersection(*(set(checkpoint_steps(d)) for d in directories))
  for step in sorted(common, reverse=True):
    try:
      restored, rows, pending = [], [], []
      for directory, template in zip(directories, states):
        path = pathlib.Path(directory) / f'step_{step}'
        tree = files.load_tree(path, state_tree(template))
        meta = files.read_json(path.parent / f'step_{step}.metrics.json')
        restored.append(from_state_tree(template, tree))
        rows.append(meta['rows'])
        pending.append(meta['pending'])
      return restored, rows, pending
    except (files.CorruptTreeError, OSError, ValueError, KeyError,
            TypeError) as e:
      files.log_corrupt(path, e)
  return list(states), [[] for _ in states], [empty_pending()
                                              for _ in states]
