"""The job runner: a batch of named jobs trained as one vmapped program.

A *job* is one network to train: where it writes (``out_dir``, a
``runs.layout.JobDir``), the train state it starts from (init, mask,
data-order key and schedule position are all in the state), and the level
and branch its summary records. ``run`` trains the unfinished jobs of a
batch together through the engine (``Experiment.train``: resumable from
mid-run checkpoints, hooks such as weight captures at steps), then
``finish`` writes each: ``trained/``, ``masks/``, ``metrics.jsonl`` and,
last, ``summary.json`` (the job is done); a finished job is never
retrained nor overwritten. IMP levels, controls, transfer, early masking,
instability copies and learned supermasks all run through here; a batch
whose state is not the lottery ``TrainState`` (supermask scores over frozen
weights) brings its own ``Program`` (loop, step, evaluation).
"""
import dataclasses
import pathlib
from typing import Any, Callable, Sequence

from lth_jax import errors
from lth_jax import pruning
from lth_jax.lottery import summaries
from lth_jax.lottery.experiment import Experiment
from lth_jax.runs import layout
from lth_jax.runs import processes
from lth_jax.runs import storage
from lth_jax.training import engine
from lth_jax.training.progress import Progress

#: ``finish(exp, job, state, rows)``: writes a trained job.
Finish = Callable[[Experiment, 'Job', Any, list[dict[str, Any]]], Any]


@dataclasses.dataclass
class Job:
  """One network to train: where it writes, its start, what it is.

  Attributes:
    replicate: the replicate it belongs to (which process writes it).
    out_dir: its folder (a ``JobDir``).
    state: the train state it starts from.
    level: the level its summary records.
    branch: the branch (control) its summary records, if any.
  """
  replicate: int
  out_dir: pathlib.Path
  state: Any
  level: int = 0
  branch: str | None = None

  @property
  def files(self) -> layout.JobDir:
    return layout.JobDir(self.out_dir)

  def done(self) -> bool:
    return self.files.done()


@dataclasses.dataclass(frozen=True)
class Program:
  """A batch's own training program instead of the config's loop.

  Attributes:
    spec: the loop (durations, batch size, checkpoints).
    train_step: the engine's ``train_step`` for these states.
    evaluate: the engine's ``evaluate`` for these states.
    stop: an early-stopping rule, or None (the config's is not used).
  """
  spec: engine.LoopSpec
  train_step: engine.TrainStep
  evaluate: engine.Evaluate
  stop: engine.EarlyStopping | None = None

  def engine_kwargs(self) -> dict[str, Any]:
    return {'spec': self.spec, 'train_step': self.train_step,
            'evaluate': self.evaluate, 'stop': self.stop}


def unfinished(jobs: Sequence[Job]) -> list[Job]:
  """The jobs whose ``summary.json`` does not exist yet."""
  return [j for j in jobs if not j.done()]


def train(exp: Experiment, label: str, jobs: Sequence[Job],
          hooks: tuple[engine.AtSteps, ...] = (),
          progress: Progress | None = None,
          program: Program | None = None) -> list[engine.Run]:
  """Trains ``jobs`` together through the engine (resumable); writes only
  checkpoints. ``label`` names the batch in logs and errors (``'level 3'``,
  ``'k=500 copies'``); every process must pass the same one. ``program``
  replaces the config's loop, step and evaluation (None: the config's)."""
  storage.remove_stale_together(exp.run_dir, label)  # what kills left
  return exp.train([j.state for j in jobs], [j.out_dir for j in jobs],
                   label=label, hooks=hooks, progress=progress,
                   names=[f'replicate {j.replicate}' for j in jobs],
                   **(program.engine_kwargs() if program else {}))


def write_trained(job: Job, state: Any, rows: list[dict[str, Any]],
                  summary: dict[str, Any], masks: bool = True) -> None:
  """Writes a trained job; ``summary.json`` last, then drops checkpoints.

  A finished job is final: it is never written again. Its checkpoints are
  deleted only once ``summary.json`` exists.
  """
  files = job.files
  if files.done():
    raise errors.FinishedError(
        f'{files.summary} exists: level {job.level} of replicate '
        f'{job.replicate} is finished, and finished results are never '
        f'overwritten. Delete {job.out_dir} to recompute it.')
  storage.save_tree(files.trained, {
      'params': state.params, 'batch_stats': state.batch_stats})
  if masks:
    storage.save_tree_once(files.masks, state.masks)
  storage.write_jsonl(files.metrics, rows)
  storage.write_json(files.summary, summary)
  storage.remove(files.checkpoints)


def finish(exp: Experiment, job: Job, state: Any,
           rows: list[dict[str, Any]]) -> dict[str, Any]:
  """Writes a trained level (its masks and level summary included)."""
  del exp
  summary = summaries.level_summary(rows, pruning.sparsity_report(
      state.masks), job.level, job.replicate, job.branch)
  write_trained(job, state, rows, summary)
  return summary


def run(exp: Experiment, label: str, jobs: Sequence[Job],
        hooks: tuple[engine.AtSteps, ...] = (),
        progress: Progress | None = None,
        finish_job: Finish = finish,
        program: Program | None = None) -> list[engine.Run]:
  """Trains the given jobs together, then finishes each (the process that
  holds its replicate writes it). Returns the engine's runs, in order."""
  runs = train(exp, label, jobs, hooks, progress, program)
  for job, run_ in zip(jobs, runs):
    if processes.owns(job.replicate, exp.config.replicates):
      finish_job(exp, job, run_.state, run_.rows)
  processes.barrier(f'{label} saved')
  return runs
