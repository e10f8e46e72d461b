"""The dense run of an early-masking experiment: trained once, replayed.

The trunk stores only init and trained weights, so its dense level 0 is
replayed (same init, same data key) and the weights at every capture step
are written as they are produced (an ``engine.AtSteps`` hook); the replay
must end bit-identical to the trunk's level-0 trained weights. A killed
replay resumes from its checkpoints and ends the same. This module also
owns the ``early_masking/`` directory layout's root.
"""
import pathlib
from typing import Any

import jax
import numpy as np

from lth_jax import errors
from lth_jax import files
from lth_jax.lottery import captures
from lth_jax.lottery import imp
from lth_jax.lottery import jobs as jobs_lib
from lth_jax.runs import layout
from lth_jax.runs import storage
from lth_jax.studies.early_masking import validation
from lth_jax.lottery.experiment import Experiment
from lth_jax.training.progress import Progress


def progress(exp: Experiment) -> Progress:
  return Progress(enabled=exp.config.progress)


def em_layout(exp: Experiment) -> layout.EarlyMaskingDir:
  return layout.RunLayout(exp.run_dir).early_masking


def em_dir(exp: Experiment) -> pathlib.Path:
  return em_layout(exp).path


def capture_dir(exp: Experiment, replicate: int) -> pathlib.Path:
  return em_layout(exp).captures(replicate)


def dense_summary(exp: Experiment, replicate: int) -> dict[str, Any]:
  return storage.read_json(
      layout.RunLayout(exp.run_dir).job(replicate, 0).summary)


def point_steps(p: validation.Plan, exp: Experiment, replicate: int
                ) -> dict[str, int]:
  """The one-shot timing points of a replicate: ``{label: step}``."""
  steps = {str(t): t for t in p.timing_points}
  if p.add_early_stop:
    steps[validation.EARLY_STOP] = int(
        dense_summary(exp, replicate)['early_stop_step'])
  return steps


def capture_steps(p: validation.Plan, exp: Experiment, replicate: int
                  ) -> list[int]:
  """Every step whose dense weights a replicate needs."""
  steps = (set(point_steps(p, exp, replicate).values()) | set(p.grid)
           | set(p.doubling))
  if p.mode == 'iterative' and p.iterative_timing == 'absolute':
    steps |= set(p.iterative_points)
  elif p.mode == 'iterative':  # fractions of the dense early-stop step
    steps |= set(range(0, exp.total_steps + 1, exp.eval_every))
  return sorted(steps)


variables_of = captures.variables_of


def ensure_dense(exp: Experiment) -> None:
  """Trains the trunk's level 0 for replicates that lack it (only those)."""
  todo = [r for r in range(exp.config.replicates)
          if not storage.level_done(exp.run_dir, r, 0)]
  if not todo:
    return
  jobs = [jobs_lib.Job(r, storage.level_dir(exp.run_dir, r, 0),
                       imp.start_state(exp, r, 0)) for r in todo]
  hooks = ((imp.rewind_point_saver(exp, jobs),)
           if exp.config.pruning.rewind == 'step' else ())
  jobs_lib.run(exp, 'level 0', jobs, hooks, progress(exp))


def capture(exp: Experiment, p: validation.Plan) -> None:
  """Replays dense level 0 per replicate and writes the weights at each
  capture step as it is produced (an ``AtSteps`` hook); checks the end
  against the trunk.

  Raises:
    RuntimeError: if the replay's final weights differ from the trunk's
      level-0 trained weights and ``require_exact_replay``.
  """
  jobs, wanted = [], {}
  for r in range(exp.config.replicates):
    d = capture_dir(exp, r)
    if em_layout(exp).replay_record(r).exists():
      continue
    wanted[r] = capture_steps(p, exp, r)
    init = exp.init_variables(r)
    if 0 in wanted[r]:
      storage.save_tree_once(em_layout(exp).capture(r, 0), init)
    jobs.append(jobs_lib.Job(r, d, imp.start_state(exp, r, 0)))
  if not jobs:
    return

  def where(job, step):
    if step in wanted[job.replicate]:
      return em_layout(exp).capture(job.replicate, step)
    return None

  steps = tuple(sorted(set().union(*wanted.values()) - {0}))
  hook = captures.capture_at(jobs, steps, where)
  runs = jobs_lib.train(exp, 'level 0 replay', jobs, (hook,), progress(exp))
  for job, run_ in zip(jobs, runs):
    like = exp.init_variables(job.replicate)
    trunk = storage.load_tree(
        layout.RunLayout(exp.run_dir).job(job.replicate, 0).trained, like)
    final = jax.device_get(variables_of(run_.state))
    same = files.tree_digest(final) == files.tree_digest(trunk)
    diff = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
               for a, b in zip(jax.tree.leaves(final), jax.tree.leaves(trunk)))
    if not same and p.require_exact_replay:
      raise errors.RunStateError(
          f'the replay of replicate {job.replicate} ends {diff:.3g} away '
          "from the trunk's level-0 weights (not bit-identical): the trunk "
          'was trained by other code or on another machine. Rerun the '
          'trunk here, or set masking.require_exact_replay=False.')
    storage.write_json(em_layout(exp).replay_record(job.replicate),
                       {'bit_identical': same, 'max_abs_diff': diff,
                        'steps': wanted[job.replicate]})
    storage.remove(job.files.checkpoints)


def load_capture(exp: Experiment, replicate: int, step: int) -> Any:
  return storage.load_tree(em_layout(exp).capture(replicate, step),
                           exp.init_variables(replicate))


