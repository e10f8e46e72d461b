"""Runs the sparse-training comparison: every method through the job runner.

``run(config, workdir)`` first runs (or reads) the IMP trunk of
``config.trunk`` (``lottery.imp``; its level 0 is the dense network the
one-shot methods prune), then, for every method and density, trains one
batch of ``lottery.jobs`` (one job per replicate, labelled
``'<method> at <density> %'``) through ``jobs.run``, the runner IMP's
levels use:

* ``init`` methods (random, SNIP, SynFlow) for ``T`` steps;
* ``oneshot`` methods, fine-tuned ``study.finetune_steps`` from the pruned
  dense trunk;
* ``dst`` methods (SET, RigL) for ``T`` steps, their masks inside the
  ``sparse_optax`` state (``serial`` executor: a mask update is a
  ``lax.cond`` that ``vmap`` would turn into a select on every step).

Each job writes its folder under the study's folder of the run
(``study_dir``: ``<run>/sparse_comparison_<study tag>``, then
``replicate_<r>/branch_<method>_<distribution>_<density>/level_0``):
``trained/``, ``masks/`` (the final masks, SET/RigL's included),
``metrics.jsonl`` and, last, ``summary.json``, the job's *record*: the
test accuracy at early stop (minimum validation loss), the actual density,
the training FLOPs (``flops``; IMP pays for every level up to its own) and
wall time (its batch's time shared equally by its jobs). A finished job is
never retrained: a killed run resumes at the first unfinished job.
"""
import dataclasses
import json
import pathlib
import time
from typing import Any

import jax
import ml_collections

from lth_jax import files
from lth_jax.lottery import experiment
from lth_jax.lottery import imp
from lth_jax.lottery import jobs
from lth_jax.lottery import summaries
from lth_jax.lottery.experiment import Experiment
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import sparse_optax
from lth_jax.runs import layout
from lth_jax.runs import storage
from lth_jax.studies.init_pruning import runner as init_pruning
from lth_jax.studies.sparse_comparison import flops
from lth_jax.studies.sparse_comparison import schema
from lth_jax.studies.sparse_comparison import starts
from lth_jax.training import activations
from lth_jax.training import durations
from lth_jax.training import replicates
from lth_jax.training import state as state_lib
from lth_jax.training.progress import Progress

PyTree = Any
STUDY = 'sparse_comparison'
#: The IMP trunk's records and wall time, in the study's folder.
IMP_RECORDS = 'imp.jsonl'
IMP_WALL = 'imp_wall.json'
#: The study fields the run used (written at the end).
STUDY_CONFIG = 'study_config.json'


def study_dir(run_dir: pathlib.Path, study: ml_collections.ConfigDict
              ) -> pathlib.Path:
  """The study's folder in the trunk's run (tag: ``schema.study_tag``)."""
  return layout.RunLayout(run_dir).study_dir(STUDY, schema.study_tag(study))


def job_dir(out_dir: pathlib.Path, method: schema.Method, density: float,
            replicate: int) -> pathlib.Path:
  """The folder of one (method, density, replicate) job.

  >>> str(job_dir(pathlib.Path('s'), schema.Method('rigl', 'dst', 'erk'),
  ...             0.05, 2))
  's/replicate_2/branch_rigl_erk_0.05/level_0'
  """
  return layout.RunLayout(out_dir).level(
      replicate, 0, f'{method.name}_{method.distribution}_{density:g}')


@dataclasses.dataclass
class Job(jobs.Job):
  """A ``lottery.jobs.Job`` of the comparison and what its record says."""
  method: schema.Method | None = None
  density: float = 0.0
  extra: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Costs:
  """What the FLOP counts of a run need."""
  positions: dict[str, int]
  dense: float
  batch_size: int
  steps: int
  shapes: list[tuple[int, int]]
  num_classes: int


def costs(exp: Experiment) -> Costs:
  """Forward FLOPs of the dense network and per-layer positions."""
  init = exp.init_variables(0)
  variables = {'params': init['params']}
  if jax.tree.leaves(init['batch_stats']):
    variables['batch_stats'] = init['batch_stats']
  rows = activations.layer_inputs(exp.model.apply, variables,
                                  exp.data.train_images[:1], train=False)
  positions = {p: x.shape[0] for p, x in rows.items()}
  dense = exp.dense_masks(init['params'])
  return Costs(positions, flops.forward_flops(positions, dense),
               exp.config.training.batch_size, exp.total_steps,
               flops.kernel_shapes(dense), exp.dataset.num_classes)


def _record(job: Job, rows: list[dict[str, Any]], masks: PyTree,
            cost: float, unit: float, wall: float) -> dict[str, Any]:
  best = summaries.early_stop(rows)
  leaves = masks_lib.mask_leaves(masks)
  kept = sum(int(jax.numpy.sum(m)) for m in leaves)
  size = sum(int(m.size) for m in leaves)
  return {'method': job.method.label, 'name': job.method.name,
          'kind': job.method.kind,
          'distribution': job.method.distribution,
          'target_density': job.density, 'density': kept / size,
          'replicate': job.replicate, 'level': job.level,
          'early_stop_step': best['step'],
          'early_stop_test_acc': best['test_acc'],
          'start_test_acc': rows[0]['test_acc'],
          'final_test_acc': rows[-1]['test_acc'], 'flops': cost,
          'dense_runs': cost / unit, 'wall_s': wall, **job.extra}


def _job(out_dir: pathlib.Path, method: schema.Method, density: float,
         replicate: int, state: Any, extra: dict[str, Any] | None = None
         ) -> Job:
  return Job(replicate, job_dir(out_dir, method, density, replicate),
             state, method=method, density=density, extra=extra or {})


def _init_job(exp, out_dir, method, density, r, study):
  del study
  init = exp.init_variables(r)
  masks = starts.init_masks(exp, method, r, density, init)
  return _job(out_dir, method, density, r, exp.new_state(
      init['params'], init['batch_stats'], masks, r))


def _oneshot_job(exp, out_dir, method, density, r, study):
  variables, masks, errors = starts.oneshot_start(
      exp, method, r, density, study.calibration_size)
  return _job(out_dir, method, density, r, exp.new_state(
      variables['params'], variables['batch_stats'], masks, r),
              {'reconstruction_error': errors})


def _dst_job(exp, out_dir, method, density, r, study):
  tx = _dst_optimizer(exp, method.name, study)
  init = exp.init_variables(r)
  masks = starts.dst_masks(exp, method, r, density, init['params'])
  state = state_lib.create_train_state(
      exp.model, masks_lib.apply_masks(init['params'], masks), None, tx,
      exp.replicate_key(r, experiment.DATA_STREAM), init['batch_stats'])
  sparse = state.opt_state._replace(
      masks=masks, key=starts.method_key(exp, r, method.label, density))
  return _job(out_dir, method, density, r,
              state.replace(opt_state=sparse))


def _dst_optimizer(exp, name, study):
  """SET/RigL around the trunk's optimizer (cached: one program each)."""
  cache = exp.__dict__.setdefault('_sparse_optimizers', {})
  if name not in cache:
    cache[name] = sparse_optax.wrap_optax(
        exp.optimizer(), name, density=1.0, total_steps=exp.total_steps,
        update_every=study.update_every, drop_fraction=study.drop_fraction,
        stop_fraction=study.stop_fraction,
        prunable=exp.config.pruning.prunable)
  return cache[name]


#: kind -> the start of one job.
STARTS = {'init': _init_job, 'oneshot': _oneshot_job, 'dst': _dst_job}


def _cost(c: Costs, study: ml_collections.ConfigDict, job: Job,
          masks: PyTree, steps: int) -> float:
  sparse = flops.forward_flops(c.positions, masks)
  kind = job.method.kind
  if kind == 'dst' and job.method.name == 'rigl':
    return flops.rigl_flops(sparse, c.dense, c.batch_size, steps,
                            flops.update_steps(steps, study.update_every,
                                               study.stop_fraction))
  cost = flops.train_flops(sparse, c.batch_size, steps)
  if kind == 'init' and job.method.name == 'snip':
    cost += 3 * c.dense * init_pruning.PER_CLASS * c.num_classes
  if kind == 'init' and job.method.name == 'synflow':
    cost += 3 * c.dense * init_pruning.SYNFLOW_ROUNDS
  if kind == 'oneshot':
    cost += flops.train_flops(c.dense, c.batch_size, c.steps)
    cost += c.dense * study.calibration_size
    if job.method.name == 'sparsegpt':
      cost += flops.sparsegpt_flops(c.shapes, study.calibration_size)
  return cost


def _finisher(c: Costs, study: ml_collections.ConfigDict, count: int
              ) -> jobs.Finish:
  """``jobs.Finish`` writing each job with its record as its summary.

  Wall time: the time from this call to the batch's first finish (its
  training), shared equally by the batch's ``count`` jobs.
  """
  tic, clock = time.time(), {}
  unit = flops.train_flops(c.dense, c.batch_size, c.steps)

  def finish(exp: Experiment, job: Job, state: Any,
             rows: list[dict[str, Any]]) -> dict[str, Any]:
    wall = clock.setdefault('wall', (time.time() - tic) / count)
    dst = job.method.kind == 'dst'
    masks = (sparse_optax.current_masks(state.opt_state) if dst
             else state.masks)
    record = _record(job, rows, masks,
                     _cost(c, study, job, masks, exp.total_steps), unit,
                     wall)
    jobs.write_trained(job, state.replace(masks=masks), rows, record)
    return record
  return finish


def _run_method(exp: Experiment, out_dir: pathlib.Path,
                method: schema.Method, densities: list[float],
                study: ml_collections.ConfigDict, c: Costs,
                progress: Progress) -> None:
  """Trains the unfinished jobs of one method, a batch per density."""
  for density in densities:
    todo = [r for r in range(exp.config.replicates)
            if not layout.JobDir(job_dir(out_dir, method, density,
                                         r)).done()]
    if not todo:
      continue
    batch = [STARTS[method.kind](exp, out_dir, method, density, r, study)
             for r in todo]
    jobs.run(exp, f'{method.label} at {100 * density:g} %', batch,
             progress=progress, finish_job=_finisher(c, study, len(batch)))


def imp_records(exp: Experiment, c: Costs, wall: dict[str, float]
                ) -> list[dict[str, Any]]:
  """One record per trunk level and replicate; IMP's FLOPs are the sum
  over levels ``0..L`` (every level trains ``T`` steps at its density)."""
  unit = flops.train_flops(c.dense, c.batch_size, c.steps)
  dense = exp.dense_masks(exp.init_variables(0)['params'])
  sizes = dict(zip(masks_lib.prunable_paths(dense),
                   [m.size for m in masks_lib.mask_leaves(dense)]))
  level_cost: dict[tuple[int, int], float] = {}
  out = []
  rows = storage.collect(exp.run_dir)
  for s in rows:
    forward = sum(2.0 * c.positions[p] * sizes[p] * frac
                  for p, frac in s['layers'].items())
    level_cost[s['replicate'], s['level']] = flops.train_flops(
        forward, c.batch_size, c.steps)
  for s in rows:
    cost = sum(v for (r, lv), v in level_cost.items()
               if r == s['replicate'] and lv <= s['level'])
    out.append({
        'method': 'imp', 'name': 'imp', 'kind': 'imp',
        'distribution': exp.config.pruning.strategy, 'level': s['level'],
        'target_density': s['weights_remaining'],
        'density': s['weights_remaining'], 'replicate': s['replicate'],
        'early_stop_step': s['early_stop_step'],
        'early_stop_test_acc': s['early_stop_test_acc'],
        'final_test_acc': s['final_test_acc'], 'flops': cost,
        'dense_runs': cost / unit,
        'wall_s': (wall.get('per_level', 0.0) * (s['level'] + 1)
                   if wall else None)})
  return out


def read_records(out_dir: pathlib.Path) -> list[dict[str, Any]]:
  """Every record of a finished (or partial) study: IMP's and each
  finished job's summary."""
  records = (files.read_jsonl(out_dir / IMP_RECORDS)
             if (out_dir / IMP_RECORDS).exists() else [])
  return records + storage.collect(out_dir, branch='*')


def _run_trunk(exp: Experiment, out_dir: pathlib.Path,
               progress: Progress) -> dict[str, Any]:
  """Runs (or reads) the IMP trunk; its wall time per level."""
  wall_path = out_dir / IMP_WALL
  todo = [lv for lv in range(exp.config.pruning.levels + 1)
          if not storage.level_done(exp.run_dir, 0, lv)]
  tic = time.time()
  imp.run_levels(exp, progress)
  if todo:
    files.write_json(wall_path, {'per_level': (time.time() - tic) / len(
        todo), 'levels_trained_here': todo})
  return files.read_json(wall_path) if wall_path.exists() else {}


def run(config: ml_collections.ConfigDict, workdir: str,
        dataset: Any = None) -> list[dict[str, Any]]:
  """Runs (or resumes) the comparison.

  Args:
    config: ``trunk`` (a lottery config) and ``study``
      (``schema.default_study``).
    workdir: the trunk runs in ``workdir/<trunk run-hash>``, the study's
      jobs in its ``study_dir``.
    dataset: optional preloaded ``lth_jax.data.Dataset`` (tests).

  Returns:
    Every record (IMP levels and the other methods).
  """
  schema.validate(config)
  study = config.study
  methods = schema.parse_methods(study.methods)
  densities = schema.parse_densities(study.densities)
  with imp.locked_experiment(config.trunk, workdir, dataset) as exp:
    progress = Progress(enabled=config.trunk.progress)
    out_dir = study_dir(exp.run_dir, study)
    out_dir.mkdir(parents=True, exist_ok=True)
    wall = _run_trunk(exp, out_dir, progress)
    c = costs(exp)
    finetune = durations.parse_duration(study.finetune_steps,
                                        exp.steps_per_epoch,
                                        'study.finetune_steps')
    # Same data and executor cache; its own length or executor.
    runs = {'init': exp,
            'oneshot': dataclasses.replace(exp, total_steps=finetune),
            'dst': dataclasses.replace(
                exp, executor=replicates.Executor('serial'))}
    for kind in ('init', 'oneshot', 'dst'):
      for m in (m for m in methods if m.kind == kind):
        _run_method(runs[kind], out_dir, m, densities, study, c, progress)
    if any(m.kind == 'imp' for m in methods):
      files.write_jsonl(out_dir / IMP_RECORDS, imp_records(exp, c, wall))
    records = read_records(out_dir)
    files.write_text_atomic(out_dir / STUDY_CONFIG, json.dumps(
        study.to_dict(), indent=1, sort_keys=True) + '\n')
  return records
