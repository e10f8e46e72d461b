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
(means and ranges over replicates), ``supermask.png``; the parts are cached
as ``untrained/r<replicate>.json`` and one
``learned/<method>_k<remaining>_r<replicate>.json`` per learned run, so a
rerun (or a second process running the other part) reuses finished work.
Learned supermasks train through ``lth_jax.training.engine``. The trunk is
only read.
"""
import hashlib
import json
import time
from typing import Any

import jax
import ml_collections
import numpy as np
import optax

from lth_jax import config_lists
from lth_jax import errors
from lth_jax import pruning
from lth_jax import streams
from lth_jax.runs import layout
from lth_jax.studies.supermasks import plots as supermask_plots
from lth_jax.studies.supermasks import report as supermask_report
from lth_jax.lottery import config as config_lib
from lth_jax.lottery import experiment
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
SUPERMASK_STREAM = streams.Stream.SUPERMASK


def _csv_list(value: Any) -> list[str]:
  return list(config_lists.items(value or None))


def _choices(value: str, known: Any, what: str) -> list[str]:
  items = _csv_list(value)
  for item in items:
    if item not in known:
      raise errors.InputError(f'unknown {what} {item!r}; known: '
                       f'{", ".join(known)}.')
  return items


def default_section() -> ml_collections.ConfigDict:
  """The ``config.supermask`` fields (LeNet-300-100 / MNIST cpu values)."""
  c = ml_collections.ConfigDict()
  c.replicates = 2           # trunk replicates 0 .. n-1
  c.levels = '3,5,7,10'      # trunk levels giving the untrained counts
  c.source_level = 0         # trunk level whose init/trained weights score
  c.criteria = ''            # '' = all, plus imp_ticket
  c.kept = 'init,signed_constant,reshuffle,reinit'
  c.pruned = 'zero,frozen'
  c.methods = 'edge_popup,bernoulli'
  c.remaining = '0.1,0.3,0.5,0.7'
  c.steps = 3000
  c.batch_size = 128
  c.eval_every = 500
  c.weight_init = 'signed_constant'
  c.rescale = True           # Bernoulli dynamic weight rescaling
  for method, lr in (('edge_popup', 0.5), ('bernoulli', 100.0)):
    o = ml_collections.ConfigDict()
    o.optimizer = 'sgd'
    o.learning_rate = lr
    o.momentum = 0.9
    o.weight_decay = 0.0
    o.schedule = 'cosine'
    c[method] = o
  return c


def validate(config: ml_collections.ConfigDict) -> None:
  """Checks the supermask section; raises one line naming the fix."""
  config_lib.validate(config.trunk)
  s = config.supermask
  names = criteria.all_criterion_names()
  _choices(s.criteria, names, 'mask criterion')
  _choices(s.kept, criteria.KEPT_TREATMENTS, 'kept-weight treatment')
  _choices(s.pruned, criteria.PRUNED_TREATMENTS, 'pruned-weight treatment')
  _choices(s.methods, sm.METHODS, 'supermask method')
  for k in _csv_list(s.remaining):
    try:
      criteria.check_remaining(float(k))
    except ValueError as e:
      raise errors.InputError(f'supermask.remaining: {e}') from e
  levels = [int(x) for x in _csv_list(s.levels)]
  top = config.trunk.pruning.levels
  for level in levels + [s.source_level]:
    if not 0 <= level <= top:
      raise errors.InputError(f'trunk level {level} is outside 0..{top} '
                       '(config.trunk.pruning.levels); pick levels the '
                       'trunk has.')
  if not 1 <= s.replicates <= config.trunk.replicates:
    raise errors.InputError(
        f'supermask.replicates={s.replicates} must be in 1..'
        f'{config.trunk.replicates} (the trunk\'s replicates).')
  _choices(s.weight_init, sm.WEIGHT_INITS, 'frozen-weight init')
  for method in _csv_list(s.methods):
    sm.make_optimizer(s[method].learning_rate, s.steps, s[method].momentum,
                      s[method].weight_decay, s[method].schedule,
                      s[method].optimizer)


#: Fields that choose what is computed, not how: results are cached per
#: item, so they do not name the output folder.
SELECTION_FIELDS = ('replicates', 'levels', 'criteria', 'kept', 'pruned',
                    'methods', 'remaining')


def section_hash(config: ml_collections.ConfigDict) -> str:
  """A short hash of how supermasks are computed (names the output folder).

  The fields that only select what to compute (``SELECTION_FIELDS``) are
  left out: untrained rows and learned runs are cached one by one.
  """
  fields = {k: v for k, v in config.supermask.to_dict().items()
            if k not in SELECTION_FIELDS}
  # The stream joined the hash when it moved from 3 to 4 (a collision
  # with the instability stream): new results go to new folders.
  fields['stream'] = int(SUPERMASK_STREAM)
  text = json.dumps(fields, sort_keys=True)
  return hashlib.sha256(text.encode()).hexdigest()[:8]


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
  d = storage.level_dir(exp.run_dir, replicate, level)
  if not storage.tree_exists(d / layout.TRAINED):
    return init, None
  return init, storage.load_tree(d / layout.TRAINED, init)['params']


def ticket_masks(exp: Experiment, replicate: int, level: int,
                 init: dict[str, Any]) -> Any:
  """The trunk's masks of a level; raises naming the fix if missing."""
  path = storage.level_dir(exp.run_dir, replicate, level) / layout.MASKS
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
  names = _csv_list(s.criteria) or criteria.all_criterion_names()
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
  for level in (int(x) for x in _csv_list(s.levels)):
    ticket = ticket_masks(exp, replicate, level, init)
    counts = criteria.masks_counts(ticket)
    pct = 100 * sum(c for c in jax.tree.leaves(counts)) / total
    for ci, name in enumerate(names + [IMP_TICKET]):
      ckey = jax.random.fold_in(key, 1000 * level + ci + 2)
      masks = ticket if name == IMP_TICKET else criteria.criterion_masks(
          name, init['params'], final, dense, counts, key=ckey)
      for kept in _csv_list(s.kept):
        for pruned in _csv_list(s.pruned):
          params = criteria.supermask_params(
              init['params'], masks, kept, pruned, key=ckey,
              fresh=fresh['params'])
          rows.append({
              'replicate': replicate, 'level': level, 'criterion': name,
              'kept': kept, 'pruned': pruned, 'weights_remaining_pct': pct,
              'test_acc': 100 * evaluate_params(
                  exp, params, init['batch_stats'], 'test')})
  return rows


def learned_runs(exp: Experiment, s: ml_collections.ConfigDict, method: str,
                 remaining: float, replicates: list[int]
                 ) -> list[dict[str, Any]]:
  """Trains one learned supermask per replicate together, through the
  training engine; returns their result rows (with validation curves)."""
  o = s[method]
  # One optimizer object: the stacked replicates share their static fields.
  tx = sm.make_optimizer(o.learning_rate, s.steps, o.momentum,
                         o.weight_decay, o.schedule, o.optimizer)
  states = []
  for r in replicates:
    init = exp.init_variables(r)
    dense = exp.dense_masks(init['params'])
    key = jax.random.fold_in(exp.replicate_key(r, SUPERMASK_STREAM), 1)
    weights = sm.frozen_weights(jax.random.fold_in(key, 0), init['params'],
                                dense, s.weight_init)
    states.append(sm.create_state(
        exp.model, weights, dense, remaining, jax.random.fold_in(key, 1),
        exp.replicate_key(r, experiment.DATA_STREAM), tx, method,
        rescale=s.rescale and method == 'bernoulli',
        batch_stats=init['batch_stats']))
  spec = engine.LoopSpec(
      total_steps=s.steps, batch_size=s.batch_size,
      steps_per_epoch=batching.steps_per_epoch(
          exp.data.train_images.shape[0], s.batch_size),
      eval_every=s.eval_every, task=exp.task)
  start = time.time()
  runs = engine.train(states, exp.data, spec, exp.executor,
                      evaluate=sm.evaluate, train_step=sm.train_step,
                      label=f'{method} k={remaining:g}',
                      names=[f'replicate {r}' for r in replicates])
  seconds = time.time() - start
  out = []
  for r, run_ in zip(replicates, runs):
    last = run_.rows[-1]
    out.append({
        'method': method, 'remaining': remaining, 'replicate': r,
        'weights_remaining_pct': 100 * float(last['test_density']),
        'test_acc': 100 * float(last['test_acc']),
        'val_acc': 100 * float(last['val_acc']),
        'expected_density': float(last.get('test_expected_density')
                                  or np.nan),
        'steps': s.steps, 'seconds': seconds,
        'curve': [{k: v for k, v in row.items() if not k.startswith('test')}
                  for row in run_.rows]})
  return out


def ticket_rows(exp: Experiment, replicates: int) -> list[dict[str, Any]]:
  """The trunk's finished levels: test accuracy at early stop."""
  rows = []
  for r in range(replicates):
    for level in range(exp.config.pruning.levels + 1):
      path = storage.level_dir(exp.run_dir, r, level) / layout.SUMMARY
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
  validate(config)
  s = config.supermask
  exp = Experiment.setup(config.trunk, workdir, dataset)
  out = exp.run_dir / f'supermask_{section_hash(config)}'
  storage.write_json(out / layout.CONFIG, config.to_dict())
  untrained = []
  if _csv_list(s.levels):
    selection = {k: s[k] for k in ('levels', 'criteria', 'kept', 'pruned')}
    for r in range(s.replicates):
      path = out / 'untrained' / f'r{r}.json'
      cached = storage.read_json(path) if path.exists() else None
      if not cached or cached['selection'] != selection:
        cached = {'selection': selection,
                  'rows': untrained_rows(exp, s, r)}
        storage.write_json(path, cached)
      untrained += cached['rows']
    supermask_report.write_csv(out / 'untrained.csv', untrained)
  learned = []
  for method in _csv_list(s.methods):
    for k in (float(x) for x in _csv_list(s.remaining)):
      paths = {r: out / 'learned' / f'{method}_k{k:.2f}_r{r}.json'
               for r in range(s.replicates)}
      todo = [r for r, path in paths.items() if not path.exists()]
      if todo:
        for row in learned_runs(exp, s, method, k, todo):
          storage.write_json(paths[row['replicate']], row)
      learned += [storage.read_json(paths[r]) for r in sorted(paths)]
  supermask_report.write_csv(out / 'learned.csv', learned)
  tickets = ticket_rows(exp, s.replicates)
  supermask_report.write_csv(out / 'tickets.csv', tickets)
  summary = (
      [{'kind': 'untrained', **row} for row in supermask_report.summarise(
          untrained, ('criterion', 'kept', 'pruned', 'level'))] +
      [{'kind': 'learned', 'criterion': row['method'], 'kept': 'frozen',
        'pruned': 'zero', 'level': -1, **row} for row in supermask_report.summarise(
            learned, ('method', 'remaining'))] +
      [{'kind': 'ticket', 'criterion': 'trained_ticket', 'kept': 'trained',
        'pruned': 'zero', **row} for row in supermask_report.summarise(
            tickets, ('level',))])
  summary = [{k: v for k, v in row.items() if k not in ('method',
                                                        'remaining')}
             for row in summary]
  supermask_report.write_csv(out / 'summary.csv', summary)
  supermask_plots.plot_supermasks(summary, out / 'supermask.png',
                                  title=config.trunk.model)
  return {'untrained': untrained, 'learned': learned, 'tickets': tickets,
          'summary': summary, 'out_dir': out}
