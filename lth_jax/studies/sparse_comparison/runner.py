"""Runs the sparse-training comparison: every method through the engine.

``run(config, workdir)`` first runs (or reads) the IMP trunk of
``config.trunk`` (``lottery.imp``; its level 0 is the dense network the
one-shot methods prune), then trains, for every density and replicate:

* the ``init`` methods together (one engine call, one program: masks are
  arguments) for ``T`` steps;
* the ``oneshot`` methods together, fine-tuned ``study.finetune_steps``;
* each ``dst`` method (SET, RigL) for ``T`` steps, its masks inside the
  ``sparse_optax`` state (``serial`` executor: a mask update is a
  ``lax.cond`` that ``vmap`` would turn into a select on every step).

Each group writes ``<run>/sparse_comparison/<group>.jsonl``, one record
per (method, density, replicate), when it finishes; a finished group is
skipped when the run is resumed. Records hold the test accuracy at early
stop (minimum validation loss), the actual density, the training FLOPs
(``flops``; IMP pays for every level up to its own) and wall time (a
group's time shared equally by its jobs).
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
from lth_jax.studies.init_pruning import runner as init_pruning
from lth_jax.runs import storage
from lth_jax.lottery import summaries
from lth_jax.lottery.experiment import Experiment
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import sparse_optax
from lth_jax.studies.sparse_comparison import flops
from lth_jax.studies.sparse_comparison import schema
from lth_jax.studies.sparse_comparison import starts
from lth_jax.training import activations
from lth_jax.training import durations
from lth_jax.training import engine
from lth_jax.training import replicates
from lth_jax.training import state as state_lib
from lth_jax.training.progress import Progress

PyTree = Any
STUDY_DIR = 'sparse_comparison'


@dataclasses.dataclass
class Job:
  """One state to train and what its record says about it."""
  method: schema.Method
  density: float
  replicate: int
  state: Any
  extra: dict[str, Any]


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


def _train(exp: Experiment, jobs: list[Job], steps: int, label: str,
           executor: replicates.Executor, progress: Progress
           ) -> tuple[list[engine.Run], float]:
  spec = dataclasses.replace(exp.loop_spec(), total_steps=steps,
                             checkpoint_every=0)
  tic = time.time()
  runs = engine.train([j.state for j in jobs], exp.data, spec, executor,
                      stop=exp.stop_rule(), label=label, progress=progress,
                      names=[f'{j.method.label} at {j.density:g}, '
                             f'replicate {j.replicate}' for j in jobs])
  return runs, time.time() - tic


def _record(job: Job, run: engine.Run, masks: PyTree, cost: float,
            unit: float, wall: float) -> dict[str, Any]:
  best = summaries.early_stop(run.rows)
  leaves = masks_lib.mask_leaves(masks)
  kept = sum(int(jax.numpy.sum(m)) for m in leaves)
  size = sum(int(m.size) for m in leaves)
  return {'method': job.method.label, 'name': job.method.name,
          'kind': job.method.kind,
          'distribution': job.method.distribution,
          'target_density': job.density, 'density': kept / size,
          'replicate': job.replicate,
          'early_stop_step': best['step'],
          'early_stop_test_acc': best['test_acc'],
          'start_test_acc': run.rows[0]['test_acc'],
          'final_test_acc': run.rows[-1]['test_acc'], 'flops': cost,
          'dense_runs': cost / unit, 'wall_s': wall, **job.extra}


def _init_jobs(exp, methods, densities):
  jobs = []
  for r in range(exp.config.replicates):
    init = exp.init_variables(r)
    for m in methods:
      for d in densities:
        masks = starts.init_masks(exp, m, r, d, init)
        jobs.append(Job(m, d, r, exp.new_state(
            init['params'], init['batch_stats'], masks, r), {}))
  return jobs


def _oneshot_jobs(exp, methods, densities, study):
  jobs = []
  for r in range(exp.config.replicates):
    for m in methods:
      for d in densities:
        variables, masks, errors = starts.oneshot_start(
            exp, m, r, d, study.calibration_size)
        jobs.append(Job(m, d, r, exp.new_state(
            variables['params'], variables['batch_stats'], masks, r),
                        {'reconstruction_error': errors}))
  return jobs


def _dst_jobs(exp, method, densities, study):
  tx = sparse_optax.wrap_optax(
      exp.optimizer(), method.name, density=1.0,
      total_steps=exp.total_steps, update_every=study.update_every,
      drop_fraction=study.drop_fraction, stop_fraction=study.stop_fraction,
      prunable=exp.config.pruning.prunable)
  jobs = []
  for r in range(exp.config.replicates):
    init = exp.init_variables(r)
    for d in densities:
      masks = starts.dst_masks(exp, method, r, d, init['params'])
      state = state_lib.create_train_state(
          exp.model, masks_lib.apply_masks(init['params'], masks), None, tx,
          exp.replicate_key(r, experiment.DATA_STREAM), init['batch_stats'])
      sparse = state.opt_state._replace(
          masks=masks, key=starts.method_key(exp, r, method.label, d))
      jobs.append(Job(method, d, r, state.replace(opt_state=sparse), {}))
  return jobs


def _group_cost(c: Costs, study: ml_collections.ConfigDict, job: Job,
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


def _run_group(exp, name, jobs, steps, executor, c, study, progress,
               out_dir):
  path = out_dir / f'{name}.jsonl'
  if path.exists() or not jobs:
    return
  runs, wall = _train(exp, jobs, steps, name, executor, progress)
  unit = flops.train_flops(c.dense, c.batch_size, c.steps)
  records = []
  for job, run in zip(jobs, runs):
    masks = (sparse_optax.current_masks(run.state.opt_state)
             if job.method.kind == 'dst' else run.state.masks)
    records.append(_record(job, run, masks,
                           _group_cost(c, study, job, masks, steps), unit,
                           wall / len(jobs)))
  files.write_jsonl(path, records)


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
        'distribution': 'layerwise', 'level': s['level'],
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
  """Every record of a finished (or partial) study."""
  records = []
  for path in sorted(out_dir.glob('*.jsonl')):
    records += files.read_jsonl(path)
  return records


def run(config: ml_collections.ConfigDict, workdir: str,
        dataset: Any = None) -> list[dict[str, Any]]:
  """Runs (or resumes) the comparison.

  Args:
    config: ``trunk`` (a lottery config) and ``study``
      (``schema.default_study``).
    workdir: results go to ``workdir/<trunk run-hash>/sparse_comparison``.
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
    out_dir = exp.run_dir / STUDY_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    wall_path = out_dir / 'imp_wall.json'
    todo = [lv for lv in range(config.trunk.pruning.levels + 1)
            if not storage.level_done(exp.run_dir, 0, lv)]
    tic = time.time()
    imp.run_levels(exp, progress)
    if todo:
      files.write_json(wall_path, {'per_level': (time.time() - tic) / len(
          todo), 'levels_trained_here': todo})
    wall = files.read_json(wall_path) if wall_path.exists() else {}
    c = costs(exp)
    by_kind = {k: [m for m in methods if m.kind == k]
               for k in ('init', 'oneshot', 'dst')}
    finetune = durations.parse_duration(study.finetune_steps,
                                        exp.steps_per_epoch,
                                        'study.finetune_steps')
    _run_group(exp, 'init', _init_jobs(exp, by_kind['init'], densities),
               exp.total_steps, exp.executor, c, study, progress, out_dir)
    if by_kind['oneshot'] and not (out_dir / 'oneshot.jsonl').exists():
      _run_group(exp, 'oneshot', _oneshot_jobs(
          exp, by_kind['oneshot'], densities, study), finetune,
                 exp.executor, c, study, progress, out_dir)
    for m in by_kind['dst']:
      name = f'dst_{m.name}_{m.distribution}'
      if not (out_dir / f'{name}.jsonl').exists():
        _run_group(exp, name, _dst_jobs(exp, m, densities, study),
                   exp.total_steps, replicates.Executor('serial'), c,
                   study, progress, out_dir)
    if any(m.kind == 'imp' for m in methods):
      files.write_jsonl(out_dir / 'imp.jsonl', imp_records(exp, c, wall))
    records = read_records(out_dir)
  files.write_text_atomic(out_dir / 'config.json', json.dumps(
      config.study.to_dict(), indent=1, sort_keys=True) + '\n')
  return records
