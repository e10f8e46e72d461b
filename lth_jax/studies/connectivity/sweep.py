"""Instability sweeps on a finished lottery trunk: rewind points x levels.

For every rewind iteration k, trunk level L (its mask; 0 = dense), trunk
replicate r (an init) and data-order pair p, two copies of ``m_L * W_k``
train from step k to the end with the copies' own data keys
(``instability.copy_data_key``), and the straight path between them is
evaluated at every alpha. All copies of one k train together in one
program per ``group_size`` on the executor's replicate axis
(``lottery.jobs``, the engine). The trunk is only read; everything is
written under the sweep's own directory::

  workdir/<trunk-hash>/settings.json        what the paths' numbers depend on
  workdir/<trunk-hash>/rewind_points/replicate_<r>/step_<k>/   dense W_k
  workdir/<trunk-hash>/rewind_points/replicate_<r>/capture/    its run
  workdir/<trunk-hash>/k_<k>/level_<L>/replicate_<r>/pair_<p>/
      copy_<c>/{trained, metrics.jsonl, summary.json, checkpoints/}
      path.json                             written last: the pair is done

The trunk stores only the init (k = 0); W_k for k > 0 is captured by
training the dense level-0 state of replicate r with the trunk's own data
key (its ``DATA_STREAM``) to the largest k, saving the weights at every k.
A killed sweep resumes: finished rewind points, copies and paths are
skipped, and copies in training resume from their checkpoints.
"""
import dataclasses
import math
import pathlib
from typing import Any, Callable

import jax
import ml_collections
import numpy as np

from lth_jax import errors
from lth_jax import pruning
from lth_jax.analysis import connectivity
from lth_jax.lottery import config as config_lib
from lth_jax.runs import layout
from lth_jax.studies.connectivity import instability
from lth_jax.studies.connectivity import schema
from lth_jax.lottery import captures
from lth_jax.lottery import jobs as jobs_lib
from lth_jax.runs import lock as run_lock
from lth_jax.runs import storage
from lth_jax.lottery.experiment import Experiment
from lth_jax.training import checkpoints
from lth_jax.training import durations

Log = Callable[[str], None]


def point_dir(out_dir: pathlib.Path, replicate: int, step: int
              ) -> pathlib.Path:
  """Where the dense weights at step ``step`` of ``replicate`` are kept."""
  return layout.SweepDir(out_dir).rewind_point(replicate, step)


def pair_dir(out_dir: pathlib.Path, step: int, level: int, replicate: int,
             pair: int) -> pathlib.Path:
  return layout.SweepDir(out_dir).pair(step, level, replicate, pair).path


def replicate_base_key(exp: Experiment, replicate: int) -> jax.Array:
  """``fold_in(key(seed), replicate)``: the root of a replicate's streams."""
  return jax.random.fold_in(jax.random.key(exp.config.seed), replicate)


def variables_like(exp: Experiment) -> dict[str, Any]:
  """The structure of ``{'params', 'batch_stats'}`` (shapes only)."""
  return jax.eval_shape(lambda k: exp.init_variables(0, key=k),
                        jax.random.key(0))


def check_trunk(exp: Experiment, trunk_dir: pathlib.Path,
                spec: schema.SweepSpec) -> None:
  """Raises ``FileNotFoundError`` for a trunk tree the sweep needs, and
  ``storage.CorruptTreeError`` for masks that do not match the model."""
  like = variables_like(exp)
  if not trunk_dir.is_dir():
    raise errors.MissingInputError(
        f'no trunk at {trunk_dir}: pass the --trunk_workdir the trunk was '
        'run with, and its config (the run hash must match).')
  for r in spec.replicates:
    init = layout.RunLayout(trunk_dir).init(r)
    if not storage.tree_exists(init):
      raise errors.MissingInputError(
          f'the trunk has no replicate {r} ({init} is missing): run the '
          'trunk with more replicates or drop it from the sweep.')
    for level in spec.levels:
      d = layout.RunLayout(trunk_dir).job(r, level)
      if not (d.done() and storage.tree_exists(d.masks)):
        raise errors.MissingInputError(
            f'the trunk has no finished level {level} of replicate {r} '
            f'({d.summary} or masks missing): finish the trunk '
            f'(levels up to {level}) or drop the level from the sweep.')
      load_masks(exp, trunk_dir, r, level, like)  # raises if not ours


def check_settings(out_dir: pathlib.Path, settings: dict[str, Any]) -> None:
  """Writes ``settings.json`` or checks that it matches (nothing touched
  when it does not)."""
  path = layout.SweepDir(out_dir).settings
  if path.exists():
    saved = storage.read_json(path)
    if saved != settings:
      diff = sorted(k for k in set(saved) | set(settings)
                    if saved.get(k) != settings.get(k))
      raise errors.InputError(
          f'{out_dir} holds paths measured with other settings ({diff[0]}: '
          f'{saved.get(diff[0])!r}, asked {settings.get(diff[0])!r}): use '
          f'another --workdir, or delete {out_dir} to measure again.')
  else:
    storage.write_json(path, settings)


def load_masks(exp: Experiment, trunk_dir: pathlib.Path, replicate: int,
               level: int, like: dict[str, Any]) -> Any:
  """A trunk level's masks, checked against the params."""
  masks = storage.load_tree(
      layout.RunLayout(trunk_dir).job(replicate, level).masks,
      exp.dense_masks(like['params']))
  pruning.check_mask_tree(like['params'], masks)
  return masks


def capture_rewind_points(exp: Experiment, trunk_dir: pathlib.Path,
                          out_dir: pathlib.Path, replicates: tuple[int, ...],
                          steps: tuple[int, ...], log: Log = print) -> None:
  """Saves the dense weights W_k of each replicate at each step k > 0.

  The dense level-0 state trains from the trunk's init with the trunk's
  data key (the same data order as the trunk's level 0) to the largest k,
  in chunks that end at every k (evaluating every ``gcd`` of the steps and
  the trunk's evaluation period); the evaluations are compared with the
  trunk's level-0 metrics in the capture's ``summary.json``.
  """
  steps = tuple(sorted(k for k in steps if k > 0))
  todo = [r for r in replicates
          if any(not storage.tree_exists(point_dir(out_dir, r, k))
                 for k in steps)]
  if not steps or not todo:
    return
  like = variables_like(exp)
  jobs = []
  for r in todo:
    run_dir = layout.SweepDir(out_dir).capture_run(r).path
    missing = [k for k in steps
               if not storage.tree_exists(point_dir(out_dir, r, k))]
    saved = checkpoints.checkpoint_steps(storage.checkpoint_dir(run_dir))
    if saved and min(missing) <= max(saved):
      storage.remove(storage.checkpoint_dir(run_dir))  # a point was lost
    init = storage.load_tree(layout.RunLayout(trunk_dir).init(r), like)
    state = exp.new_state(init['params'], init['batch_stats'],
                          exp.dense_masks(init['params']), r)
    jobs.append(jobs_lib.Job(r, run_dir, state))
  short = dataclasses.replace(
      exp, total_steps=max(steps),
      eval_every=math.gcd(exp.eval_every, *steps))

  log(f'capturing rewind points {steps} of replicates {todo}')
  capture = captures.capture_at(
      jobs, steps, lambda job, step: point_dir(out_dir, job.replicate, step))
  runs = jobs_lib.train(short, 'rewind points', jobs, hooks=(capture,))
  for job, rows in zip(jobs, (run.rows for run in runs)):
    trunk_rows = storage.read_jsonl(
        layout.RunLayout(trunk_dir).job(job.replicate, 0).metrics)
    storage.write_jsonl(job.files.metrics, rows)
    storage.write_json(job.files.summary,
                       capture_summary(rows, trunk_rows, steps))
    storage.remove(job.files.checkpoints)


def capture_summary(rows: list[dict[str, Any]],
                    trunk_rows: list[dict[str, Any]],
                    steps: tuple[int, ...]) -> dict[str, Any]:
  """The capture's steps and its largest validation-loss difference from
  the trunk's level 0 at their common evaluation steps.

  >>> capture_summary([{'step': 5, 'val_loss': .5}],
  ...                 [{'step': 5, 'val_loss': .25}], (5,))['compared_steps']
  [5]
  """
  trunk = {r['step']: r['val_loss'] for r in trunk_rows}
  common = sorted(r['step'] for r in rows if r['step'] in trunk)
  diffs = [abs(r['val_loss'] - trunk[r['step']]) for r in rows
           if r['step'] in trunk]
  return {'rewind_steps': list(steps), 'compared_steps': common,
          'max_val_loss_diff_vs_trunk': max(diffs) if diffs else None}


@dataclasses.dataclass
class Cell:
  """One (k, level, replicate, pair) of the sweep and its start state."""
  step: int
  level: int
  replicate: int
  pair: int
  dir: pathlib.Path
  start: Any
  weights_remaining: float


def start_variables(exp: Experiment, trunk_dir: pathlib.Path,
                    out_dir: pathlib.Path, replicate: int, step: int,
                    like: dict[str, Any]) -> dict[str, Any]:
  """W_k of a replicate: the trunk's init at k = 0, else the captured one."""
  if step == 0:
    return storage.load_tree(
        layout.RunLayout(trunk_dir).init(replicate), like)
  path = point_dir(out_dir, replicate, step)
  if not storage.tree_exists(path):
    raise errors.MissingInputError(
        f'rewind point {path} is missing: run the sweep '
        'again to capture it.')
  return storage.load_tree(path, like)


def cells_of_step(exp: Experiment, trunk_dir: pathlib.Path,
                  out_dir: pathlib.Path, spec: schema.SweepSpec,
                  step: int) -> list[Cell]:
  """The unfinished cells (no ``path.json``) of rewind step ``step``."""
  like = variables_like(exp)
  cells = []
  for level in spec.levels:
    for r in spec.replicates:
      todo = [p for p in range(spec.pairs)
              if not layout.SweepDir(out_dir).pair(
                  step, level, r, p).record.exists()]
      if not todo:
        continue
      variables = start_variables(exp, trunk_dir, out_dir, r, step, like)
      masks = load_masks(exp, trunk_dir, r, level, like)
      start = exp.new_state(variables['params'], variables['batch_stats'],
                            masks, r, step=step)
      fraction = pruning.sparsity_report(masks)['fraction']
      cells += [Cell(step, level, r, p, pair_dir(out_dir, step, level, r, p),
                     start, fraction) for p in todo]
  return cells


def copy_jobs(exp: Experiment, cells: list[Cell]
              ) -> list[jobs_lib.Job]:
  """The copies of ``cells`` not trained yet (no copy ``summary.json``)."""
  jobs = []
  for cell in cells:
    states = instability.pair_states(
        cell.start, replicate_base_key(exp, cell.replicate), cell.pair)
    for c, state in zip(instability.COPIES, states):
      d = layout.PairDir(cell.dir).copy(c)
      if not d.done():
        jobs.append(jobs_lib.Job(cell.replicate, d.path, state))
  return jobs


def save_copy(exp: Experiment, job: jobs_lib.Job, state: Any,
              rows: list[dict[str, Any]]) -> None:
  """Writes a trained copy (no masks: its cell's start holds them)."""
  del exp
  last = rows[-1]
  jobs_lib.write_trained(job, state, rows, {
      'step': last['step'], 'final_test_acc': last['test_acc'],
      'final_val_acc': last['val_acc'],
      'data_key': np.asarray(jax.random.key_data(state.data_key)).tolist()},
                         masks=False)


def evaluate_cell(exp: Experiment, cell: Cell, spec: schema.SweepSpec,
                  data: instability.PathData, eval_batch_size: int
                  ) -> dict[str, Any]:
  """Evaluates a cell's path and writes ``path.json`` (last)."""
  like = variables_like(exp)
  ends = [storage.load_tree(layout.PairDir(cell.dir).copy(c).trained, like)
          for c in instability.COPIES]
  alphas = connectivity.alpha_grid(spec.num_alphas)
  metrics = instability.path_metrics(
      cell.start.replace(opt_state=None), ends[0], ends[1], alphas, data,
      batch_norm=spec.batch_norm, batch_size=eval_batch_size, task=exp.task)
  record = {'rewind_step': cell.step, 'level': cell.level,
            'replicate': cell.replicate, 'pair': cell.pair,
            'weights_remaining': cell.weights_remaining,
            **instability.path_record(jax.device_get(metrics), alphas)}
  storage.write_json(layout.PairDir(cell.dir).record, record)
  return record


def run_step(exp: Experiment, trunk_dir: pathlib.Path, out_dir: pathlib.Path,
             spec: schema.SweepSpec, step: int, group_size: int,
             data: instability.PathData, eval_batch_size: int,
             log: Log = print) -> None:
  """Trains and evaluates every unfinished cell of rewind step ``step``."""
  cells = cells_of_step(exp, trunk_dir, out_dir, spec, step)
  if not cells:
    return
  jobs = copy_jobs(exp, cells)
  size = group_size or len(jobs) or 1
  for first in range(0, len(jobs), size):
    group = jobs[first:first + size]
    log(f'k={step}: training {len(group)} copies '
        f'({first + len(group)}/{len(jobs)})')
    jobs_lib.run(exp, f'k={step} copies', group, finish_job=save_copy)
  for cell in cells:
    rec = evaluate_cell(exp, cell, spec, data, eval_batch_size)
    log(f"k={step} level={cell.level} replicate={cell.replicate} "
        f"pair={cell.pair}: test instability "
        f"{100 * rec['test']['instability']:.2f} %")


def collect(out_dir: pathlib.Path, spec: schema.SweepSpec
            ) -> list[dict[str, Any]]:
  """The sweep's finished paths (``path.json``), sorted."""
  paths = []
  for k in spec.rewind_steps:
    for level in spec.levels:
      for r in spec.replicates:
        for p in range(spec.pairs):
          f = layout.SweepDir(out_dir).pair(k, level, r, p).record
          if f.exists():
            paths.append(storage.read_json(f))
  return sorted(paths, key=lambda p: (p['level'], p['rewind_step'],
                                      p['replicate'], p['pair']))


def run(config: ml_collections.ConfigDict, trunk_workdir: str, workdir: str,
        dataset: Any = None, log: Log = print) -> list[dict[str, Any]]:
  """Runs (or resumes) an instability sweep on a finished trunk.

  Args:
    config: ``trunk`` (the trunk's lottery config: the run hash must
      match) and ``connectivity`` (the sweep; see
      ``configs/connectivity_lenet300_mnist.py``).
    trunk_workdir: the trunk's ``--workdir`` (only read).
    workdir: results go to ``workdir/<trunk-hash>/``.
    dataset: optional preloaded ``lth_jax.data.Dataset`` (tests).
    log: progress lines.

  Returns:
    The sweep's paths (``path.json`` records), sorted.

  Raises:
    ValueError, FileNotFoundError: for a sweep or trunk that cannot run,
      before anything is written.
  """
  c = config.connectivity
  spec = schema.spec_from_config(c)
  schema.check_spec_shape(spec)
  exp = Experiment.setup(config.trunk, workdir, dataset)
  spe = exp.steps_per_epoch
  total = (durations.parse_duration(c.steps, spe, 'connectivity.steps')
           if c.steps else exp.total_steps)
  if total > exp.total_steps:
    raise errors.InputError(
        f'connectivity.steps ({c.steps}) exceeds the trunk\'s '
        f'training length ({exp.total_steps} steps): leave it '
        "'' to train the copies to the trunk's end.")
  exp = dataclasses.replace(
      exp, total_steps=total, eval_every=durations.parse_duration(
          c.eval_every, exp.steps_per_epoch, 'connectivity.eval_every'),
      checkpoint_every=durations.parse_duration(
          c.checkpoint_every, exp.steps_per_epoch,
          'connectivity.checkpoint_every', allow_zero=True))
  schema.check_spec(spec, exp.total_steps, len(exp.dataset.train_images),
                         config.trunk.training.batch_size)
  trunk_dir = config_lib.run_dir(config.trunk, trunk_workdir)
  if trunk_dir.resolve() == exp.run_dir.resolve():
    raise errors.InputError(f'--workdir must differ from the trunk\'s '
                     f'({trunk_workdir}): the sweep never writes into the '
                     'trunk.')
  check_trunk(exp, trunk_dir, spec)
  out_dir = exp.run_dir
  with run_lock.RunLock(out_dir):
    check_settings(out_dir, {'trunk': str(trunk_dir.resolve()),
                             'steps': total, **spec.measurement()})
    storage.remove_stale_together(out_dir, 'connectivity locked')
    capture_rewind_points(exp, trunk_dir, out_dir, spec.replicates,
                          spec.rewind_steps, log)
    data = instability.path_data(exp.data, spec,
                                 config.trunk.training.batch_size)
    for step in spec.rewind_steps:  # in the configured order
      run_step(exp, trunk_dir, out_dir, spec, step, c.group_size, data,
               c.eval_batch_size, log)
  return collect(out_dir, spec)


def output_dir(config: ml_collections.ConfigDict, workdir: str
               ) -> pathlib.Path:
  """``workdir/<trunk-hash>``: where a sweep of ``config`` writes."""
  return config_lib.run_dir(config.trunk, workdir)
