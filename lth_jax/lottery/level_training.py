"""Training one IMP level for a group of replicates, resumable mid-level.

The group's states are stacked on a replicate axis and advanced together
by the experiment's executor, in chunks that end at evaluation, checkpoint
and rewind-point steps. Every ``checkpoint_every`` steps each replicate's
state and metrics so far are written atomically; a restarted level resumes
from the newest checkpoint that every replicate of the group has.
"""
import dataclasses
import functools
import pathlib
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from lth_jax.lottery import replicates
from lth_jax.lottery import storage
from lth_jax.lottery.experiment import Experiment
from lth_jax.training import state as state_lib
from lth_jax.training import steps as steps_lib

KEEP_CHECKPOINTS = 2


class NonFiniteLossError(FloatingPointError):
  """A replicate's training loss became NaN or infinite."""


@dataclasses.dataclass
class LevelJob:
  """One replicate's part of a level: where it writes, and its start."""
  replicate: int
  out_dir: pathlib.Path
  state: state_lib.TrainState


def chunk_ends(start: int, total: int, every: tuple[int, ...],
               extra: tuple[int, ...] = ()) -> list[int]:
  """Sorted steps in ``(start, total]`` where a chunk of training must end.

  >>> chunk_ends(0, 10, (4,), (3,))
  [3, 4, 8, 10]
  """
  ends = {total}
  for e in every:
    if e:
      ends.update(range((start // e + 1) * e, total, e))
  ends.update(s for s in extra if start < s < total)
  return sorted(ends)


def _eval_all(state, data, batch_size, task):
  val = steps_lib.evaluate(state, data.val_images, data.val_labels,
                           batch_size, task)
  test = steps_lib.evaluate(state, data.test_images, data.test_labels,
                            batch_size, task)
  return jnp.stack(val + test)


def _state_tree(state: state_lib.TrainState) -> dict[str, Any]:
  return {'params': state.params, 'opt_state': state.opt_state,
          'batch_stats': state.batch_stats, 'step': state.step,
          'data_key': jax.random.key_data(state.data_key)}


def _from_tree(template: state_lib.TrainState, tree: dict[str, Any]
               ) -> state_lib.TrainState:
  return template.replace(
      params=tree['params'], opt_state=tree['opt_state'],
      batch_stats=tree['batch_stats'], step=jnp.asarray(tree['step']),
      data_key=jax.random.wrap_key_data(jnp.asarray(tree['data_key'])))


def _checkpoint_steps(out_dir: pathlib.Path) -> list[int]:
  root = out_dir / 'checkpoints'
  if not root.is_dir():
    return []
  steps = []
  for d in root.iterdir():
    if d.name.startswith('step_') and d.name[5:].isdigit():
      if storage.tree_exists(d) and (root / f'{d.name}.metrics.json').exists():
        steps.append(int(d.name[5:]))
  return sorted(steps)


def save_checkpoint(job_dir: pathlib.Path, state: state_lib.TrainState,
                    rows: list[dict[str, Any]], pending: dict[str, float]
                    ) -> None:
  """Writes one replicate's mid-level checkpoint; keeps the newest few."""
  step = int(state.step)
  root = job_dir / 'checkpoints'
  storage.write_json(root / f'step_{step}.metrics.json',
                     {'rows': rows, 'pending': pending})
  storage.save_tree(root / f'step_{step}', _state_tree(state))
  for old in _checkpoint_steps(job_dir)[:-KEEP_CHECKPOINTS]:
    storage.remove(root / f'step_{old}')
    (root / f'step_{old}.metrics.json').unlink(missing_ok=True)


def restore_checkpoint(jobs: list[LevelJob]
                       ) -> tuple[list[LevelJob], list[list], list[dict]]:
  """The newest step every job has a readable checkpoint for, restored."""
  common = set.intersection(*(set(_checkpoint_steps(j.out_dir))
                              for j in jobs))
  for step in sorted(common, reverse=True):
    try:
      restored, rows, pending = [], [], []
      for job in jobs:
        path = job.out_dir / 'checkpoints' / f'step_{step}'
        tree = storage.load_tree(path, _state_tree(job.state))
        meta = storage.read_json(path.parent / f'step_{step}.metrics.json')
        restored.append(dataclasses.replace(
            job, state=_from_tree(job.state, tree)))
        rows.append(meta['rows'])
        pending.append(meta['pending'])
      return restored, rows, pending
    except Exception as e:  # pylint: disable=broad-except
      storage.log_corrupt(path, e)
  return jobs, [[] for _ in jobs], [{'loss_sum': 0.0, 'steps': 0}
                                    for _ in jobs]


def train_level(exp: Experiment, level: int, jobs: list[LevelJob],
                on_step: Callable[[int, list[LevelJob]], None] | None = None,
                progress: Any = None) -> list[tuple[Any, list[dict]]]:
  """Trains the jobs' states to ``exp.total_steps``; returns states, metrics.

  Args:
    exp: the experiment.
    level: the level (for messages).
    jobs: one per replicate; their states share the start step.
    on_step: called as ``on_step(step, jobs)`` at every chunk end (used to
      save the late-rewinding point).
    progress: an optional ``Progress``.

  Raises:
    NonFiniteLossError: naming the level, replicate and step, before
      anything of the failing chunk is written.
  """
  jobs, rows, pending = restore_checkpoint(jobs)
  cfg = exp.config.training
  start = int(jobs[0].state.step)
  run = functools.partial(exp.executor)
  stacked = exp.executor.place(replicates.stack([j.state for j in jobs]))
  eval_fn = functools.partial(_eval_all, batch_size=cfg.eval_batch_size,
                              task=exp.task)

  def record(stacked, step):
    metrics = np.asarray(run(('eval',), eval_fn, stacked, exp.data))
    for i, m in enumerate(metrics):
      p = pending[i]
      rows[i].append({
          'step': step,
          'train_loss': p['loss_sum'] / p['steps'] if p['steps'] else None,
          'val_loss': float(m[0]), 'val_acc': float(m[1]),
          'test_loss': float(m[2]), 'test_acc': float(m[3])})
      pending[i] = {'loss_sum': 0.0, 'steps': 0}
    if progress:
      progress.update(level, step, exp.total_steps, metrics[:, 1])

  if not rows[0]:
    record(stacked, start)
  extra = (exp.rewind_step,) if on_step else ()
  step = start
  tic = time.time()
  for end in chunk_ends(start, exp.total_steps,
                        (exp.eval_every, exp.checkpoint_every), extra):
    n = end - step
    fn = functools.partial(steps_lib.train_steps, num_steps=n,
                           batch_size=cfg.batch_size, task=exp.task,
                           augment=exp.augment)
    new, loss, bad = run(('train', n), fn, stacked, exp.data)
    bad = np.asarray(bad)
    if (bad >= 0).any():
      i = int(np.argmax(bad >= 0))
      raise NonFiniteLossError(
          f'level {level}, replicate {jobs[i].replicate}: the training loss '
          f'is not finite at step {int(bad[i])}. Nothing of this chunk was '
          'written; the last good checkpoint is kept. Lower '
          'training.learning_rate or check the data.')
    stacked, step = new, end
    for i, l in enumerate(np.asarray(loss)):
      pending[i]['loss_sum'] += float(l) * n
      pending[i]['steps'] += n
    if step % exp.eval_every == 0 or step == exp.total_steps:
      record(stacked, step)
    states = None
    if on_step or (exp.checkpoint_every and step % exp.checkpoint_every == 0
                   and step < exp.total_steps):
      states = replicates.unstack(stacked, len(jobs))
      jobs = [dataclasses.replace(j, state=s) for j, s in zip(jobs, states)]
    if on_step:
      on_step(step, jobs)
    if states and exp.checkpoint_every and step % exp.checkpoint_every == 0 \
        and step < exp.total_steps:
      for i, job in enumerate(jobs):
        save_checkpoint(job.out_dir, job.state, rows[i], pending[i])
  if progress:
    progress.level_done(level, time.time() - tic)
  final = replicates.unstack(stacked, len(jobs))
  return list(zip(final, rows))
