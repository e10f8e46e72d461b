"""The training engine: advances a stack of train states, with hooks.

``train(states, data, spec, executor)`` trains K train states together on
a replicate axis (one per seed, data order, mask-timing point, interpolation
copy, ...) from wherever they start, each with its own data key, masks and
start step, to ``spec.total_steps``, through any replicate executor
(``serial``, ``vmap``, ``map``, ``spread``, ``shard``). It knows nothing of
lottery levels; IMP levels, controls and every research driver call it.

Training runs in chunks that end at evaluation, checkpoint and hook steps.
Hooks:

* evaluation every ``spec.eval_every`` steps on the validation split (and
  the test split where some replicate's validation loss reaches a new
  minimum, at the end, or always with ``spec.test_every_eval``), by any
  ``evaluate(state, inputs, labels) -> {'loss': ..., 'acc': ..., ...}``;
  ``on_eval`` sees each new row (live metrics: TensorBoard);
* checkpoints every ``spec.checkpoint_every`` steps into per-replicate
  directories: a restarted run resumes from the newest checkpoint every
  replicate has and ends bit-identical to an uninterrupted one (chunks end
  at the same steps, the data order depends only on (key, step), the
  pending training-loss sums are saved with the state);
* ``AtSteps(steps, fn)``: ``fn(step, states)`` at listed steps (capturing
  ``w_t`` for mask timing, saving a rewind point);
* a stop rule (``EarlyStopping``): a replicate whose validation loss has
  not improved for ``patience`` evaluations stops; its state is frozen
  there while the others go on, and the run ends when all have stopped;
* ``train_step``: the per-step function (default the masked optimizer step
  of ``training.steps``; supermasks bring their own).

A non-finite loss or state raises ``NonFiniteLossError`` naming the label,
the replicate and the step, before anything of the failing chunk is
written.
"""
import dataclasses
import functools
import pathlib
import time
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import errors
from lth_jax.training import batching
from lth_jax.training import chunks
from lth_jax.training import checkpoints
from lth_jax.training import losses
from lth_jax.training import replicates
from lth_jax.training import steps as steps_lib

#: ``evaluate(state, inputs, labels) -> {'loss': scalar, ...}`` on a split.
Evaluate = Callable[[Any, jax.Array, jax.Array], dict[str, jax.Array]]
#: ``train_step(state, inputs, labels, task, augment) -> (state, loss)``.
TrainStep = Callable[..., tuple[Any, jax.Array]]


class NonFiniteLossError(errors.NumericError):
  """A replicate's training loss (or its weights) became NaN or infinite."""


@dataclasses.dataclass(frozen=True)
class LoopSpec:
  """What a run trains for and how (static: it keys compiled programs).

  Attributes:
    total_steps: the step training ends at.
    batch_size: examples per step.
    steps_per_epoch: steps per pass over the training split.
    eval_every: steps between evaluations.
    eval_batch_size: examples per evaluation batch.
    checkpoint_every: steps between checkpoints (0: none mid-run).
    test_every_eval: evaluate the test split at every evaluation.
    steps_per_call: 0 runs a chunk as one ``lax.scan``; 1 one unrolled step
      per call (convolutions on CPU, jax#12868).
    task: what the labels mean.
    augment: ``augment(key, images)`` or None.
  """
  total_steps: int
  batch_size: int
  steps_per_epoch: int
  eval_every: int
  eval_batch_size: int = 1000
  checkpoint_every: int = 0
  test_every_eval: bool = False
  steps_per_call: int = 0
  task: losses.Task = losses.Task()
  augment: Any = None


class AtSteps(NamedTuple):
  """A hook: ``fn(step, states)`` at each of ``steps`` (chunks end there).

  ``states`` are the per-replicate train states after ``step`` steps.
  """
  steps: tuple[int, ...]
  fn: Callable[[int, list[Any]], None]


@dataclasses.dataclass(frozen=True)
class EarlyStopping:
  """Stop a replicate after ``patience`` evaluations without a validation
  loss below its best by more than ``min_delta``.

  >>> rule = EarlyStopping(patience=2)
  >>> rule.stopped([{'val_loss': v} for v in (3., 2., 2.5, 2.1)])
  True
  >>> rule.stopped([{'val_loss': v} for v in (3., 2., 2.5, 1.9)])
  False
  """
  patience: int
  min_delta: float = 0.0

  def __post_init__(self):
    if isinstance(self.patience, bool) or not isinstance(
        self.patience, int) or self.patience < 1:
      raise errors.InputError(
          f'early-stopping patience must be a positive number '
          f'of evaluations, got {self.patience!r}.')

  def stopped(self, rows: Sequence[dict[str, Any]]) -> bool:
    best, since = np.inf, 0
    for row in rows:
      if row['val_loss'] < best - self.min_delta:
        best, since = row['val_loss'], 0
      else:
        since += 1
    return since >= self.patience


class Run(NamedTuple):
  """One replicate's outcome: its final state, evaluation rows, and whether
  the stop rule ended it (its state is then the one at that evaluation)."""
  state: Any
  rows: list[dict[str, Any]]
  stopped: bool


def _train_chunk(state_and_perms, data, **kwargs):
  state, perms = state_and_perms
  return steps_lib.train_steps(state, data, perms=perms, **kwargs)


def _run_chunk(spec: LoopSpec, executor: replicates.Executor,
               train_step: TrainStep, orders: chunks.EpochOrders,
               stacked: Any, data: batching.DeviceData, step: int, n: int
               ) -> tuple[Any, jax.Array, jax.Array]:
  """Trains ``n`` steps from ``step``: one scan, or ``steps_per_call`` calls.

  Returns the new stacked state, each replicate's mean loss and first
  non-finite step (-1 if none).
  """
  per_call = spec.steps_per_call or n
  chunk_losses, bad = [], None
  for first in range(step, step + n, per_call):
    m = min(per_call, step + n - first)
    fn = functools.partial(
        _train_chunk, num_steps=m, batch_size=spec.batch_size,
        task=spec.task, augment=spec.augment, unroll=m == 1,
        step_fn=train_step)
    perms = orders(stacked.data_key, first // spec.steps_per_epoch)
    stacked, loss, chunk_bad = executor(('train', m, spec, train_step), fn,
                                        (stacked, perms), data)
    chunk_losses.append(loss * m)
    bad = chunk_bad if bad is None else jnp.where(bad >= 0, bad, chunk_bad)
  return stacked, sum(chunk_losses) / n, bad


def default_evaluate(spec: LoopSpec) -> Evaluate:
  """Mean loss and accuracy of the masked network (``steps.evaluate``)."""
  return _DefaultEvaluate(spec.eval_batch_size, spec.task)


@dataclasses.dataclass(frozen=True)
class _DefaultEvaluate:
  batch_size: int
  task: losses.Task

  def __call__(self, state, inputs, labels):
    loss, acc = steps_lib.evaluate(state, inputs, labels, self.batch_size,
                                   self.task)
    return {'loss': loss, 'acc': acc}


@dataclasses.dataclass(frozen=True)
class _Split:
  """``evaluate`` on one split of the shared data (a hashable program)."""
  evaluate: Evaluate
  split: str

  def __call__(self, state, data):
    return self.evaluate(state, getattr(data, f'{self.split}_images'),
                         getattr(data, f'{self.split}_labels'))


@jax.jit
def _finite(stacked: Any) -> jax.Array:
  """Per replicate: whether every float of params and optimizer is finite."""
  tree = (stacked.params, stacked.opt_state, stacked.batch_stats)
  leaves = [x for x in jax.tree.leaves(tree)
            if jnp.issubdtype(x.dtype, jnp.inexact)]
  count = leaves[0].shape[0]
  return jnp.stack([jnp.isfinite(x.reshape(count, -1)).all(1)
                    for x in leaves]).all(0)


@jax.jit
def _keep_stopped(active: jax.Array, new: Any, old: Any) -> Any:
  """``new`` for active replicates, ``old`` (frozen) for stopped ones."""
  def pick(n, o):
    return jnp.where(active.reshape((-1,) + (1,) * (n.ndim - 1)), n, o)
  return jax.tree.map(pick, new, old)


def _scalars(metrics: dict[str, Any], i: int) -> dict[str, float]:
  return {k: float(np.asarray(v)[i]) for k, v in metrics.items()}


def train(states: Sequence[Any], data: batching.DeviceData, spec: LoopSpec,
          executor: replicates.Executor, *,
          checkpoint_dirs: Sequence[pathlib.Path] | None = None,
          hooks: Sequence[AtSteps] = (),
          stop: EarlyStopping | None = None,
          evaluate: Evaluate | None = None,
          train_step: TrainStep | None = None,
          on_eval: Callable[[int, list[dict[str, Any] | None]], None]
          | None = None,
          label: str = 'run', names: Sequence[str] | None = None,
          progress: Any = None) -> list[Run]:
  """Trains ``states`` together to ``spec.total_steps``.

  Args:
    states: one train state per replicate, all at the same start step.
    data: the data set on device (shared by every replicate).
    spec: durations, batch sizes, task, augmentation.
    executor: how the replicate axis runs (``replicates.Executor``).
    checkpoint_dirs: one directory per replicate for mid-run checkpoints
      (resume from them); None: no checkpoints.
    hooks: ``AtSteps`` hooks.
    stop: an optional ``EarlyStopping`` rule.
    evaluate: the metric function of a split (default: loss and accuracy).
    train_step: the per-step function (default ``steps.train_step``).
    on_eval: ``on_eval(step, rows)`` after every evaluation, with each
      replicate's new row (None for stopped replicates).
    label: names the run in messages and progress (e.g. ``'level 3'``).
    names: names the replicates in messages (default ``'replicate i'``).
    progress: an optional ``Progress``.

  Returns:
    One ``Run`` per replicate, in order.

  Raises:
    NonFiniteLossError: naming the label, replicate and step, before
      anything of the failing chunk is written.
  """
  count = len(states)
  names = list(names or [f'replicate {i}' for i in range(count)])
  evaluate = evaluate or default_evaluate(spec)
  train_step = train_step or steps_lib.train_step
  start = int(states[0].step)
  if any(int(s.step) != start for s in states):
    raise errors.InputError(f'{label}: the states start at different steps '
                     f'{[int(s.step) for s in states]}; train groups that '
                     'share a start step.')
  rows = [[] for _ in range(count)]
  pending = [checkpoints.empty_pending() for _ in range(count)]
  if checkpoint_dirs is not None:
    restored, states, rows, pending = checkpoints.restore_checkpoint(
        checkpoint_dirs, states)
    start = start if restored is None else restored
  data = executor.replicated(data)
  stacked = executor.place(replicates.stack(list(states)))
  active = np.array([not (stop and stop.stopped(r)) for r in rows])
  splits = {s: _Split(evaluate, s) for s in ('val', 'test')}

  def record(stacked, step):
    val = executor(('eval', splits['val']), splits['val'], stacked, data)
    best = [min((r['val_loss'] for r in rs), default=np.inf) for rs in rows]
    val_loss = np.asarray(val['loss'])
    need_test = (spec.test_every_eval or step == spec.total_steps
                 or any(a and v < b for a, v, b in zip(active, val_loss,
                                                       best)))
    test = (executor(('eval', splits['test']), splits['test'], stacked, data)
            if need_test else None)
    new_rows = []
    for i in range(count):
      if not active[i]:
        new_rows.append(None)
        continue
      p = pending[i]
      row = {'step': step,
             'train_loss': p['loss_sum'] / p['steps'] if p['steps'] else None}
      row.update({f'val_{k}': v for k, v in _scalars(val, i).items()})
      row.update({f'test_{k}': None for k in val} if test is None else
                 {f'test_{k}': v for k, v in _scalars(test, i).items()})
      rows[i].append(row)
      new_rows.append(row)
      pending[i] = checkpoints.empty_pending()
    if on_eval:
      on_eval(step, new_rows)
    if progress:
      progress.update(label, step, spec.total_steps,
                      np.asarray(val.get('acc', val['loss'])))

  if not rows[0]:
    record(stacked, start)
  if stop:
    active &= np.array([not stop.stopped(r) for r in rows])
  hook_steps = tuple(sorted({s for h in hooks for s in h.steps}))
  step = start
  tic = time.time()
  orders = chunks.EpochOrders(data.train_images.shape[0], executor.place)
  for end in chunks.chunk_ends(start, spec.total_steps,
                        (spec.eval_every, spec.checkpoint_every), hook_steps,
                        spec.steps_per_epoch):
    if not active.any():
      break
    n = end - step
    new, loss, bad = _run_chunk(spec, executor, train_step, orders, stacked,
                                data, step, n)
    bad, finite = np.asarray(bad), np.asarray(_finite(new))
    failed = ((bad >= 0) | ~finite) & active
    if failed.any():
      _raise_non_finite(label, names, checkpoint_dirs, bad, finite, failed,
                        end)
    if not active.all():
      new = _keep_stopped(executor.place(jnp.asarray(active)), new, stacked)
    stacked, step = new, end
    for i, l in enumerate(np.asarray(loss)):
      if active[i]:
        pending[i]['loss_sum'] += float(l) * n
        pending[i]['steps'] += n
    if step % spec.eval_every == 0 or step == spec.total_steps:
      record(stacked, step)
      if stop:
        active &= np.array([not stop.stopped(r) for r in rows])
    due = [h for h in hooks if step in h.steps]
    save = (checkpoint_dirs is not None and spec.checkpoint_every
            and step % spec.checkpoint_every == 0 and step < spec.total_steps)
    if due or save:
      current = replicates.unstack(stacked, count)
      for hook in due:
        hook.fn(step, current)
      if save:
        for i, directory in enumerate(checkpoint_dirs):
          checkpoints.save_checkpoint(directory, step, current[i], rows[i],
                                      pending[i])
  if progress:
    progress.done(label, time.time() - tic)
  final = replicates.unstack(stacked, count)
  return [Run(s, r, bool(stop and not a))
          for s, r, a in zip(final, rows, active)]


def _raise_non_finite(label: str, names: list[str],
                      checkpoint_dirs: Sequence[pathlib.Path] | None,
                      bad: np.ndarray, finite: np.ndarray,
                      failed: np.ndarray, end: int) -> None:
  """Raises ``NonFiniteLossError`` for the first failing replicate."""
  i = int(np.argmax(failed))
  what = (f'the training loss is NaN or infinite at step {int(bad[i])}'
          if bad[i] >= 0 else
          f'the weights or optimizer state are NaN or infinite after step '
          f'{end}')
  saved = ([s for s in checkpoints.checkpoint_steps(checkpoint_dirs[i])
            if s < end] if checkpoint_dirs is not None else [])
  kept = (f'its last good checkpoint (step {saved[-1]}) is kept' if saved
          else 'it has no checkpoint yet')
  raise NonFiniteLossError(
      f'{label}, {names[i]}: {what}. The {label.split()[0]} is '
      f'stopped before writing anything more; {kept}, and earlier results '
      'are untouched. Lower training.learning_rate (or add '
      'training.warmup) or check the data for NaN/inf, then run again to '
      'resume.')

