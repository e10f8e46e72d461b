"""Iterative magnitude pruning (IMP) with rewinding: the lottery trunk.

Level 0 trains the dense network; each later level prunes the previous
level's trained weights by the configured strategy, rewinds the survivors
(to init, to step k, or keeps them for learning-rate rewinding and
fine-tuning) and retrains. All replicates advance level by level together.
"""
import contextlib
from typing import Any, Iterator, NamedTuple

import ml_collections

from lth_jax.lottery import captures
from lth_jax.lottery import config as config_lib
from lth_jax.lottery import jobs as jobs_lib
from lth_jax.runs import layout
from lth_jax.runs import processes
from lth_jax.runs import lock as run_lock
from lth_jax.runs import storage
from lth_jax.lottery import strategies
from lth_jax.lottery.experiment import Experiment
from lth_jax.training import engine
from lth_jax.training.progress import Progress


def load_level(exp: Experiment, replicate: int, level: int,
               like: dict[str, Any], branch: str | None = None
               ) -> tuple[Any, dict[str, Any]]:
  """A finished level's masks and trained ``{'params', 'batch_stats'}``."""
  return storage.load_level(exp.run_dir, replicate, level,
                            exp.dense_masks(like['params']), like, branch)


def level_masks(exp: Experiment, replicate: int, level: int,
                init: dict[str, Any]) -> Any:
  """The masks of a trunk level: saved, dense, or pruned from the previous
  level. A read: it never writes (``start_state`` saves new masks before
  the level trains, so a resumed level uses the very masks it started with).

  Raises:
    storage.CorruptTreeError: a saved tree it needs is missing or corrupt;
      the message names it and the directory to delete to recompute it.
  """
  path = layout.RunLayout(exp.run_dir).job(replicate, level).masks
  dense = exp.dense_masks(init['params'])
  if storage.tree_exists(path):
    try:
      return storage.load_tree(path, dense)
    except storage.CorruptTreeError as e:
      raise storage.CorruptTreeError(
          f'{e} Level {level} of replicate {replicate} is not finished: '
          f'delete {path} to recompute its masks.') from e
  if level == 0:
    masks = dense
  else:
    try:
      prev_masks, trained = load_level(exp, replicate, level - 1, init)
    except storage.CorruptTreeError as e:
      prev = storage.level_dir(exp.run_dir, replicate, level - 1)
      raise storage.CorruptTreeError(
          f'cannot prune level {level} of replicate {replicate} from level '
          f'{level - 1}: {e} Delete {prev} to recompute level {level - 1} '
          '(earlier levels are kept).') from e
    strategy = strategies.get_strategy(exp.config.pruning.strategy)
    masks = strategy(trained['params'], prev_masks, exp.config.pruning, level)
  return masks


class RewindTarget(NamedTuple):
  """What a trunk level rewinds to, before its mask is applied.

  Attributes:
    variables: ``{'params', 'batch_stats'}``: the init (``rewind='init'``
      and level 0), the dense run's step-k weights (``'step'``), or the
      previous level's trained weights (``'lr'``, ``'finetune'``).
    step: the step training starts at.
    constant_lr: the fine-tuning learning rate, or None (the schedule).
  """
  variables: dict[str, Any]
  step: int
  constant_lr: float | None


def rewind_target(exp: Experiment, replicate: int, level: int,
                  init: dict[str, Any]) -> RewindTarget:
  """The weights, step and learning rate ``config.pruning.rewind`` names."""
  mode = exp.config.pruning.rewind
  if level == 0 or mode == 'init':
    return RewindTarget(init, 0, None)
  if mode == 'step':
    point = storage.load_tree(
        storage.rewind_point_dir(exp.run_dir, replicate), init)
    return RewindTarget(point, exp.rewind_step, None)
  _, trained = load_level(exp, replicate, level - 1, init)
  constant_lr = exp.final_learning_rate() if mode == 'finetune' else None
  return RewindTarget(trained, 0, constant_lr)


def start_state(exp: Experiment, replicate: int, level: int) -> Any:
  """The rewound train state a trunk level starts from."""
  init = exp.init_variables(replicate)
  if processes.owns(replicate, exp.config.replicates):
    exp.save_init(replicate, init)
  masks = level_masks(exp, replicate, level, init)
  if processes.owns(replicate, exp.config.replicates):
    storage.save_tree_once(
        layout.RunLayout(exp.run_dir).job(replicate, level).masks, masks)
  target = rewind_target(exp, replicate, level, init)
  return exp.new_state(target.variables['params'],
                       target.variables['batch_stats'], masks, replicate,
                       step=target.step, constant_lr=target.constant_lr)


def rewind_point_saver(exp: Experiment, jobs: list[jobs_lib.Job]
                       ) -> engine.AtSteps:
  """The hook that saves each job's weights at ``exp.rewind_step``."""
  def where(job, step):
    del step
    if processes.owns(job.replicate, exp.config.replicates):
      return storage.rewind_point_dir(exp.run_dir, job.replicate)
    return None
  return captures.capture_at(jobs, (exp.rewind_step,), where, overwrite=True)


def run_levels(exp: Experiment, progress: Progress | None = None) -> None:
  """Trains every missing (replicate, level) of the trunk."""
  cfg = exp.config
  for level in range(cfg.pruning.levels + 1):
    todo = [r for r in range(cfg.replicates)
            if not storage.level_done(exp.run_dir, r, level)]
    if not todo:
      continue
    jobs = [jobs_lib.Job(r, storage.level_dir(exp.run_dir, r, level),
                         start_state(exp, r, level), level) for r in todo]
    hooks = ((rewind_point_saver(exp, jobs),) if level == 0
             and cfg.pruning.rewind == 'step' else ())
    jobs_lib.run(exp, f'level {level}', jobs, hooks, progress)


@contextlib.contextmanager
def locked_experiment(config: ml_collections.ConfigDict, workdir: str,
                      dataset: Any = None) -> Iterator[Experiment]:
  """Validates ``config``, locks its run directory, then sets it up.

  The lock comes before the data is loaded, so a second run on the same
  directory fails at once; what killed writers left behind is removed.
  """
  config_lib.validate(config)
  run_dir = config_lib.run_dir(config, workdir)
  with run_lock.RunLock(run_dir):
    storage.remove_stale_together(run_dir, 'run locked')
    exp = Experiment.setup(config, workdir, dataset)
    exp.write_config()
    yield exp


def run(config: ml_collections.ConfigDict, workdir: str,
        dataset: Any = None) -> list[dict[str, Any]]:
  """Runs (or resumes) an IMP lottery experiment.

  Args:
    config: a config built on ``lth_jax.lottery.default_config()``.
    workdir: results go to ``workdir/<run-hash>/``.
    dataset: optional preloaded ``lth_jax.data.Dataset`` (tests).

  Returns:
    The per-level summaries of every replicate, sorted by level.
  """
  with locked_experiment(config, workdir, dataset) as exp:
    run_levels(exp, Progress(enabled=config.progress))
  return storage.collect(exp.run_dir)
