"""Supermask experiments on a lottery trunk: untrained and learned masks.

Two parts, both against the trunk's trained tickets at matched sparsity:

* **Untrained supermasks** (Zhou et al. 2019): for each trunk level ``L`` in
  ``supermask.levels``, every criterion keeps, per layer, as many weights as
  the trunk's level-``L`` ticket does, scored from the init and the trained
  weights of trunk level ``supermask.source_level`` (one shot; level 0 is
  the dense run). The mask goes on the *untrained* init with each kept- and
  pruned-weight treatment, and is evaluated without any training.
  ``imp_ticket`` is the trunk's own (iterative) mask, evaluated the same way.
* **Learned supermasks** (edge-popup, Bernoulli): scores trained with the
  weights frozen, at each fraction ``remaining`` of every layer's weights.

Outputs go to ``workdir/<trunk-hash>/supermask_<hash>/`` (``<hash>`` of the
supermask section without the fields that only select what to compute):
``untrained.csv``, ``learned.csv``, ``tickets.csv``, ``summary.csv``
(means and ranges over replicates), ``supermask.png``; the untrained part
is cached as ``untrained/r<replicate>.json``, and each learned run is a job
of the job runner (``lottery.jobs``, label ``'supermask edge-popup
k=30%'``) in ``learned/<method>_k<remaining>_r<replicate>/``: mid-run
checkpoints every ``checkpoint_every`` steps, TensorBoard events, and its
result row as ``summary.json``, so a killed run resumes to the same result
and a rerun (or a second process running the other part) reuses finished
work. Paths: ``runs.layout.SupermaskDir``. The trunk is only read.
"""
import time
from typing import Any

import jax
import ml_collections
import numpy as np
import optax

from lth_jax import errors
from lth_jax import pruning
from lth_jax.runs import layout
from lth_jax.studies.supermasks import plots as supermask_plots
from lth_jax.studies.supermasks import report as supermask_report
from lth_jax.studies.supermasks import schema
from lth_jax.lottery import experiment
from lth_jax.lottery import jobs as jobs_lib
from lth_jax.runs import storage
from lth_jax.lottery.experiment import Experiment
from lth_jax.pruning import criteria
from lth_jax.training import batching
from lth_jax.training import engine
from lth_jax.training import state as state_lib
from lth_jax.training import steps
from lth_jax.training import supermask_steps as sm

#: The trunk's own mask, evaluated like a criterion's.
IMP_TICKET = 'imp_ticket'
SUPERMASK_STREAM = schema.SUPERMASK_STREAM


def evaluate_params(exp: Experiment, params: Any, batch_stats: Any,
                    split: str) -> float:
  """Accuracy of ``params`` (no masks, no training) on a split."""
  state = state_lib.TrainState.create(
      apply_fn=exp.model.apply, params=params, tx=_NO_OPTIMIZER,
      masks=jax.tree.map(lambda _: None, params), batch_stats=batch_stats,
      data_key=jax.random.key(0))
  images, labels = ((exp.data.test_images, exp.data.test_labels)
                    if split == 'test' else
                    (exp.data.val_images, exp.data.val_labels))
  _, acc = _evaluate(state, images, labels)
  return float(acc)


_evaluate = jax.jit(steps.evaluate)
#: One object, so that the jitted evaluation compiles once.
_NO_OPTIMIZER = optax.identity()


def source_weights(exp: Experiment, replicate: int, level: int
                   ) -> tuple[dict[str, Any], Any]:
  """The init variables and the trained params of a trunk level (or None)."""
  init = exp.init_variables(replicate)
  d = layout.RunLayout(exp.run_dir).job(replicate, level)
  if not storage.tree_exists(d.trained):
    return init, None
  return init, storage.load_tree(d.trained, init)['params']


def ticket_masks(exp: Experiment, replicate: int, level: int,
                 init: dict[str, Any]) -> Any:
  """The trunk's masks of a level; raises naming the fix if missing."""
  path = layout.RunLayout(exp.run_dir).job(replicate, level).masks
  if not storage.tree_exists(path):
    raise errors.MissingInputError(
        f'trunk level {level} of replicate {replicate} has no masks under '
        f'{exp.run_dir}: run the trunk to that level first (python -m '
        'experiments.lottery with the trunk config and --workdir), or drop '
        'it from supermask.levels.')
  return storage.load_tree(path, exp.dense_masks(init['params']))


def untrained_rows(exp: Experiment, s: ml_collections.ConfigDict,
                   replicate: int) -> list[dict[str, Any]]:
  """Accuracy of every (level, criterion, kept, pruned) untrained mask."""
  init, final = source_weights(exp, replicate, s.source_level)
  where = (f'trunk level {s.source_level} of replicate {replicate} under '
           f'{exp.run_dir}')
  names = schema.listed(s.criteria) or criteria.all_criterion_names()
  for name in names:
    criteria.check_needs(
        name, init['params'], final, where,
        fix='run the trunk first (python -m experiments.lottery with the '
        'trunk config and --workdir)')
  key = jax.random.fold_in(exp.replicate_key(replicate, SUPERMASK_STREAM), 0)
  fresh = exp.init_variables(replicate, key=jax.random.fold_in(key, 1))
  dense = exp.dense_masks(init['params'])
  total = sum(m.size for m in pruning.masks.mask_leaves(dense))
  rows = [{'replicate': replicate, 'level': 0, 'criterion': 'dense',
           'kept': 'init', 'pruned': 'zero', 'weights_remaining_pct': 100.0,
           'test_acc': 100 * evaluate_params(exp, init['params'],
                                             init['batch_stats'], 'test')}]
  for level in (int(x) for x in schema.listed(s.levels)):
    ticket = ticket_masks(exp, replicate, level, init)
    counts = criteria.masks_counts(ticket)
    pct = 100 * sum(c for c in jax.tree.leaves(counts)) / total
    for ci, name in enumerate(names + [IMP_TICKET]):
      ckey = jax.random.fold_in(key, 1000 * level + ci + 2)
      masks = ticket if name == IMP_TICKET else criteria.criterion_masks(
          name, init['params'], final, dense, counts, key=ckey)
      for kept in schema.listed(s.kept):
        for pruned in schema.listed(s.pruned):
          params = criteria.supermask_params(
              init['params'], masks, kept, pruned, key=ckey,
              fresh=fresh['params'])
          rows.append({
              'replicate': replicate, 'level': level, 'criterion': name,
              'kept': kept, 'pruned': pruned, 'weights_remaining_pct': pct,
              'test_acc': 100 * evaluate_params(
                  exp, params, init['batch_stats'], 'test')})
  return rows


def learned_program(exp: Experiment, s: ml_collections.ConfigDict
                    ) -> jobs_lib.Program:
  """How learned supermasks train: their loop, step and evaluation."""
  spec = engine.LoopSpec(
      total_steps=s.steps, batch_size=s.batch_size,
      steps_per_epoch=batching.steps_per_epoch(
          exp.data.train_images.shape[0], s.batch_size),
      eval_every=s.eval_every, checkpoint_every=s.checkpoint_every,
      task=exp.task)
  return jobs_lib.Program(spec, sm.train_step, sm.evaluate)


def learned_job(exp: Experiment, s: ml_collections.ConfigDict, method: str,
                remaining: float, replicate: int, out_dir: Any,
                tx: optax.GradientTransformation) -> jobs_lib.Job:
  """The job of one learned supermask: scores over frozen weights."""
  init = exp.init_variables(replicate)
  dense = exp.dense_masks(init['params'])
  key = jax.random.fold_in(exp.replicate_key(replicate, SUPERMASK_STREAM), 1)
  weights = sm.frozen_weights(jax.random.fold_in(key, 0), init['params'],
                              dense, s.weight_init)
  state = sm.create_state(
      exp.model, weights, dense, remaining, jax.random.fold_in(key, 1),
      exp.replicate_key(replicate, experiment.DATA_STREAM), tx, method,
      rescale=s.rescale and method == 'bernoulli',
      batch_stats=init['batch_stats'])
  return jobs_lib.Job(replicate, out_dir, state)


def learned_label(method: str, remaining: float) -> str:
  """``'supermask edge-popup k=30%'``: the batch's name in logs."""
  return f'supermask {method.replace("_", "-")} k={100 * remaining:g}%'


def learned_runs(exp: Experiment, s: ml_collections.ConfigDict, method: str,
                 remaining: float, replicates: list[int],
                 where: layout.SupermaskDir) -> None:
  """Trains one learned supermask per replicate together, through the job
  runner (checkpoints, resume, TensorBoard); each job's ``summary.json``
  is its result row (``learned_row``, with its validation curve)."""
  o = s[method]
  # One optimizer object: the stacked replicates share their static fields.
  tx = sm.make_optimizer(o.learning_rate, s.steps, o.momentum,
                         o.weight_decay, o.schedule, o.optimizer)
  jobs = [learned_job(exp, s, method, remaining, r,
                      where.learned_job(method, remaining, r).path, tx)
          for r in replicates]
  start = time.time()

  def finish(exp, job, state, rows):
    del exp
    jobs_lib.write_trained(job, state, rows, learned_row(
        method, remaining, job.replicate, s.steps, time.time() - start,
        rows), masks=False)

  jobs_lib.run(exp, learned_label(method, remaining), jobs,
               finish_job=finish, program=learned_program(exp, s))


def learned_result(out: layout.SupermaskDir, method: str, remaining: float,
                   replicate: int) -> dict[str, Any]:
  """A finished learned run's row: its job's summary (or, for runs made
  before learned supermasks were jobs, their own record)."""
  job = out.learned_job(method, remaining, replicate)
  return storage.read_json(job.summary if job.done() else
                           out.learned_record(method, remaining, replicate))


def learned_row(method: str, remaining: float, replicate: int, steps: int,
                seconds: float, rows: list[dict[str, Any]]
                ) -> dict[str, Any]:
  """One learned supermask's result row (its summary)."""
  last = rows[-1]
  return {
      'method': method, 'remaining': remaining, 'replicate': replicate,
      'weights_remaining_pct': 100 * float(last['test_density']),
      'test_acc': 100 * float(last['test_acc']),
      'val_acc': 100 * float(last['val_acc']),
      'expected_density': float(last.get('test_expected_density')
                                or np.nan),
      'steps': steps, 'seconds': seconds,
      'curve': [{k: v for k, v in row.items() if not k.startswith('test')}
                for row in rows]}


def ticket_rows(exp: Experiment, replicates: int) -> list[dict[str, Any]]:
  """The trunk's finished levels: test accuracy at early stop."""
  rows = []
  for r in range(replicates):
    for level in range(exp.config.pruning.levels + 1):
      path = layout.RunLayout(exp.run_dir).job(r, level).summary
      if path.exists():
        summary = storage.read_json(path)
        rows.append({'replicate': r, 'level': level,
                     'weights_remaining_pct':
                         100 * summary['weights_remaining'],
                     'test_acc': 100 * summary['early_stop_test_acc']})
  return rows


def run(config: ml_collections.ConfigDict, workdir: str,
        dataset: Any = None) -> dict[str, list[dict[str, Any]]]:
  """Runs (or resumes) the supermask experiment on a finished trunk.

  Args:
    config: ``{'trunk': <the trunk's lottery config>, 'supermask': ...}``
      (see ``configs/supermask_lenet300_mnist.py``).
    workdir: the trunk's ``--workdir``; the trunk is read from
      ``workdir/<trunk-hash>/`` and never written.
    dataset: optional preloaded ``lth_jax.data.Dataset`` (tests).

  Returns:
    ``{'untrained': rows, 'learned': rows, 'tickets': rows, 'summary':
    rows}`` as written to the CSV files.
  """
  schema.validate(config)
  s = config.supermask
  exp = Experiment.setup(config.trunk, workdir, dataset)
  out = layout.RunLayout(exp.run_dir).supermask(schema.section_hash(config))
  storage.write_json(out.config, config.to_dict())
  untrained = []
  if schema.listed(s.levels):
    selection = {k: s[k] for k in ('levels', 'criteria', 'kept', 'pruned')}
    for r in range(s.replicates):
      path = out.untrained(r)
      cached = storage.read_json(path) if path.exists() else None
      if not cached or cached['selection'] != selection:
        cached = {'selection': selection,
                  'rows': untrained_rows(exp, s, r)}
        storage.write_json(path, cached)
      untrained += cached['rows']
    supermask_report.write_csv(out.file('untrained.csv'), untrained)
  learned = []
  for method in schema.listed(s.methods):
    for k in (float(x) for x in schema.listed(s.remaining)):
      replicates = range(s.replicates)
      todo = [r for r in replicates if not out.learned_job(method, k, r)
              .done() and not out.learned_record(method, k, r).exists()]
      if todo:
        learned_runs(exp, s, method, k, todo, out)
      learned += [learned_result(out, method, k, r) for r in replicates]
  supermask_report.write_csv(out.file('learned.csv'), learned)
  tickets = ticket_rows(exp, s.replicates)
  supermask_report.write_csv(out.file('tickets.csv'), tickets)
  summary = (
      [{'kind': 'untrained', **row} for row in supermask_report.summarise(
          untrained, ('criterion', 'kept', 'pruned', 'level'))] +
      [{'kind': 'learned', 'criterion': row['method'], 'kept': 'frozen',
        'pruned': 'zero', 'level': -1, **row}
       for row in supermask_report.summarise(learned,
                                             ('method', 'remaining'))] +
      [{'kind': 'ticket', 'criterion': 'trained_ticket', 'kept': 'trained',
        'pruned': 'zero', **row} for row in supermask_report.summarise(
            tickets, ('level',))])
  summary = [{k: v for k, v in row.items() if k not in ('method',
                                                        'remaining')}
             for row in summary]
  supermask_report.write_csv(out.file('summary.csv'), summary)
  supermask_plots.plot_supermasks(summary, out.file('supermask.png'),
                                  title=config.trunk.model)
  return {'untrained': untrained, 'learned': learned, 'tickets': tickets,
          'summary': summary, 'out_dir': out.path}
