"""The capture service: a job's weights saved at chosen steps.

Rewind points, early-masking timing points and linear-mode-connectivity
spawn points are all weights captured at a step during a job's training.
``capture_at(jobs, steps, where)`` is the engine hook (``AtSteps``) that
saves ``{'params', 'batch_stats'}`` of each job at each step to the path
``where(job, step)`` names (``None``: not this job at this step). A capture
that exists is kept, so a resumed job never rewrites one.
"""
from typing import Any, Callable, Iterable, Sequence

from lth_jax.runs import storage
from lth_jax.training import engine

#: ``where(job, step) -> path or None``.
Where = Callable[[Any, int], Any]


def variables_of(state: Any) -> dict[str, Any]:
  """The weights a capture holds: ``{'params', 'batch_stats'}``."""
  return {'params': state.params, 'batch_stats': state.batch_stats}


def capture_at(jobs: Sequence[Any], steps: Iterable[int], where: Where,
               overwrite: bool = False) -> engine.AtSteps:
  """The hook saving each job's weights at ``steps`` where ``where`` says.

  Args:
    jobs: the jobs trained together (``lottery.jobs.Job``), in order.
    steps: the steps to stop at (the engine ends a chunk at each).
    where: the path of a job's capture at a step, or ``None`` to skip.
    overwrite: save even where a capture exists.
  """
  def save(step: int, states: Sequence[Any]) -> None:
    for job, state in zip(jobs, states):
      path = where(job, step)
      if path is not None:
        save = storage.save_tree if overwrite else storage.save_tree_once
        save(path, variables_of(state))
  return engine.AtSteps(tuple(steps), save)
