"""Training one IMP level for a group of replicates, resumable mid-level.

The group's states are stacked on a replicate axis and advanced together
by the experiment's executor, in chunks that end at evaluation, checkpoint
and rewind-point steps. Every ``checkpoint_every`` steps each replicate's
state and metrics so far are written atomically; a restarted level resumes
from the newest checkpoint that every replicate of the group has, and ends
bit-identical to an uninterrupted run: chunks end at the same steps, the
data order depends only on (key, step), and the pending training-loss sums
are saved with the state. A checkpoint that cannot be read back intact is
reported and the previous one used. A non-finite loss or state stops the
level before anything of the failing chunk is written.
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
from lth_jax.training import batching
from lth_jax.training import state as state_lib
from lth_jax.training import steps as steps_lib

KEEP_CHECKPOINTS = 2


class NonFiniteLossError(FloatingPointError):
  """A replicate's training loss (or its weights) became NaN or infinite."""


@dataclasses.dataclass
class LevelJob:
  """One replicate's part of a level: where it writes, and its start."""
  replicate: int
  out_dir: pathlib.Path
  state: state_lib.TrainState


def chunk_ends(start: int, total: int, every: tuple[int, ...],
               extra: tuple[int, ...] = (),
               steps_per_epoch: int | None = None) -> list[int]:
  """Sorted steps in ``(start, total]`` where a chunk of training must end.

  With ``steps_per_epoch``, chunks that would touch more than two epochs
  are split at epoch boundaries (a chunk gets two epochs' data orders).

  >>> chunk_ends(0, 10, (4,), (3,))
  [3, 4, 8, 10]
  >>> chunk_ends(0, 10, (10,), (), steps_per_epoch=3)
  [6, 10]
  """
  ends = {total}
  for e in every:
    if e:
      ends.update(range((start // e + 1) * e, total, e))
  ends.update(s for s in extra if start < s < total)
  ends = sorted(ends)
  if not steps_per_epoch:
    return ends
  out, step = [], start
  for end in ends:
    while batching.epochs_touched(step, end - step, steps_per_epoch) > 2:
      step = (step // steps_per_epoch + 2) * steps_per_epoch
      out.append(step)
    out.append(end)
    step = end
  return out


class EpochOrders:
  """Per-epoch data orders of a replicate group, computed once per epoch.

  ``orders(stacked_keys, epoch)`` is ``[K, 2, N]``: the permutations of
  ``epoch`` and ``epoch + 1`` for every replicate (the same values
  ``batching.chunk_indices`` would compute, without re-sorting per chunk).
  """

  def __init__(self, exp: Experiment):
    self._n = exp.data.train_images.shape[0]
    self._place = exp.executor.place
    self._cache: dict[int, jax.Array] = {}

  def __call__(self, keys: jax.Array, epoch: int) -> jax.Array:
    for e in (epoch, epoch + 1):
      if e not in self._cache:
        self._cache[e] = _group_permutations(keys, e, self._n)
    self._cache = {e: v for e, v in self._cache.items() if e >= epoch}
    return self._place(jnp.concatenate(
        [self._cache[epoch], self._cache[epoch + 1]], axis=1))


@functools.partial(jax.jit, static_argnums=2)
def _group_permutations(keys: jax.Array, epoch: int, num_examples: int
                        ) -> jax.Array:
  """``[K, 1, N]``: one epoch's data order for each replicate's key."""
  return jax.vmap(lambda k: batching.epoch_permutations(
      k, epoch, 1, num_examples))(keys)


def _run_chunk(exp: Experiment, run: Callable[..., Any],
               orders: EpochOrders, stacked: Any, step: int, n: int
               ) -> tuple[Any, jax.Array, jax.Array]:
  """Trains ``n`` steps from ``step``: one scan, or ``steps_per_call`` calls.

  Returns the new stacked state, each replicate's mean loss and first
  non-finite step (-1 if none).
  """
  per_call = exp.steps_per_call or n
  losses, bad = [], None
  for first in range(step, step + n, per_call):
    m = min(per_call, step + n - first)
    fn = functools.partial(
        _train_chunk, num_steps=m, batch_size=exp.config.training.batch_size,
        task=exp.task, augment=exp.augment, unroll=m == 1)
    perms = orders(stacked.data_key, first // exp.steps_per_epoch)
    stacked, loss, chunk_bad = run(('train', m), fn, (stacked, perms),
                                   exp.data)
    losses.append(loss * m)
    bad = chunk_bad if bad is None else jnp.where(bad >= 0, bad, chunk_bad)
  return stacked, sum(losses) / n, bad


def _train_chunk(state_and_perms, data, **kwargs):
  state, perms = state_and_perms
  return steps_lib.train_steps(state, data, perms=perms, **kwargs)


def _eval_split(state, data, split: str, batch_size: int, task):
  """Mean loss and accuracy on ``split`` ('val' or 'test'), stacked."""
  images, labels = getattr(data, f'{split}_images'), getattr(
      data, f'{split}_labels')
  return jnp.stack(steps_lib.evaluate(state, images, labels, batch_size,
                                      task))


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
    storage.remove(root / f'step_{old}.metrics.json')


def restore_checkpoint(jobs: list[LevelJob]
                       ) -> tuple[list[LevelJob], list[list], list[dict]]:
  """The newest step every job has a readable checkpoint for, restored.

  An unreadable or altered checkpoint is reported (a warning) and the
  previous one tried; with none left the jobs start from their beginning.
  """
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
    except (storage.CorruptTreeError, OSError, ValueError, KeyError,
            TypeError) as e:
      storage.log_corrupt(path, e)
  return jobs, [[] for _ in jobs], [{'loss_sum': 0.0, 'steps': 0}
                                    for _ in jobs]


@jax.jit
def _finite(stacked: state_lib.TrainState) -> jax.Array:
  """Per replicate: whether every float of params and optimizer is finite."""
  tree = (stacked.params, stacked.opt_state, stacked.batch_stats)
  leaves = [x for x in jax.tree.leaves(tree)
            if jnp.issubdtype(x.dtype, jnp.inexact)]
  count = leaves[0].shape[0]
  return jnp.stack([jnp.isfinite(x.reshape(count, -1)).all(1)
                    for x in leaves]).all(0)


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
  storage.remove_stale(exp.run_dir)  # what earlier kills left behind
  jobs, rows, pending = restore_checkpoint(jobs)
  cfg = exp.config.training
  start = int(jobs[0].state.step)
  run = exp.executor
  stacked = exp.executor.place(replicates.stack([j.state for j in jobs]))
  evals = {split: functools.partial(_eval_split, split=split,
                                    batch_size=cfg.eval_batch_size,
                                    task=exp.task) for split in ('val', 'test')}

  def record(stacked, step):
    """Appends an evaluation row per replicate.

    The test set is evaluated where some replicate's validation loss
    reaches a new minimum (so the test accuracy at the early-stopping
    iteration is always known), at the last step, and at every evaluation
    with ``training.test_every_eval``.
    """
    val = np.asarray(run(('val',), evals['val'], stacked, exp.data))
    best = [min((r['val_loss'] for r in rs), default=np.inf) for rs in rows]
    need_test = (cfg.test_every_eval or step == exp.total_steps
                 or any(v[0] < b for v, b in zip(val, best)))
    test = (np.asarray(run(('test',), evals['test'], stacked, exp.data))
            if need_test else None)
    for i, m in enumerate(val):
      p = pending[i]
      rows[i].append({
          'step': step,
          'train_loss': p['loss_sum'] / p['steps'] if p['steps'] else None,
          'val_loss': float(m[0]), 'val_acc': float(m[1]),
          'test_loss': None if test is None else float(test[i][0]),
          'test_acc': None if test is None else float(test[i][1])})
      pending[i] = {'loss_sum': 0.0, 'steps': 0}
    if progress:
      progress.update(level, step, exp.total_steps, val[:, 1])

  if not rows[0]:
    record(stacked, start)
  extra = (exp.rewind_step,) if on_step else ()
  step = start
  tic = time.time()
  orders = EpochOrders(exp)
  for end in chunk_ends(start, exp.total_steps,
                        (exp.eval_every, exp.checkpoint_every), extra,
                        exp.steps_per_epoch):
    n = end - step
    new, loss, bad = _run_chunk(exp, run, orders, stacked, step, n)
    bad, finite = np.asarray(bad), np.asarray(_finite(new))
    if (bad >= 0).any() or not finite.all():
      _raise_non_finite(level, jobs, bad, finite, end)
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


def _raise_non_finite(level: int, jobs: list[LevelJob], bad: np.ndarray,
                      finite: np.ndarray, end: int) -> None:
  """Raises ``NonFiniteLossError`` for the first failing replicate."""
  i = int(np.argmax((bad >= 0) | ~finite))
  what = (f'the training loss is NaN or infinite at step {int(bad[i])}'
          if bad[i] >= 0 else
          f'the weights or optimizer state are NaN or infinite after step '
          f'{end}')
  saved = [s for s in _checkpoint_steps(jobs[i].out_dir) if s < end]
  kept = (f'its last good checkpoint (step {saved[-1]}) is kept' if saved
          else 'it has no checkpoint yet')
  raise NonFiniteLossError(
      f'level {level}, replicate {jobs[i].replicate}: {what}. The level is '
      f'stopped before writing anything more; {kept}, and earlier levels '
      'are untouched. Lower training.learning_rate (or add '
      'training.warmup) or check the data for NaN/inf, then run again to '
      'resume.')
