"""Early masking: tickets whose masks come from step ``t`` of training.

On an existing lottery trunk (its init, data order, rewinding and layout):

* **capture**: the trunk stores only init and trained weights, so its dense
  level 0 is replayed (same init, same data key) and the weights at every
  capture step are written as they are produced; the replay must end
  bit-identical to the trunk's level-0 trained weights (a strong check that
  the same training was replayed). A killed replay resumes from its
  checkpoints and ends the same.
* **one-shot**: for each target level ``L`` (the trunk level whose exact
  per-layer counts are nearest the target share), each replicate and each
  timing point ``t``, the mask prunes ``|w_t|`` with the trunk's strategy at
  ``level=L`` (exact counts) and the ticket trains from the rewind point.
* **iterative**: IMP where level ``L``'s mask comes from iteration ``t`` of
  level ``L - 1``'s training (``t`` absolute, or a fraction of that level's
  early-stop step snapped down to the evaluation grid).
* **control**: the ticket's start weights under a random mask with the same
  per-layer counts, keyed as the trunk's ``random_prune_layer`` branch (so
  with layer-wise pruning it is that branch's very mask).

All tickets of one experiment train together on the replicate axis (one
job per (seed, t)). Layout, under the trunk's run directory::

  early_masking/captures/replicate_<r>/step_<t>/       weights at step t
  early_masking/captures/replicate_<r>/replay.json     the bit-identity check
  early_masking/oneshot/level_<L>/replicate_<r>/t_<t>/ a level's files
  early_masking/iterative/<point>/replicate_<r>/level_<L>/
  early_masking/controls/replicate_<r>/level_<L>_<counts>/
  (or the trunk's replicate_<r>/branch_random_prune_layer/level_<L>/ where
  it is finished with the same mask)
"""
import dataclasses
import functools
import hashlib
import json
import pathlib
from typing import Any, Sequence

import jax
import ml_collections
import numpy as np

from lth_jax import files
from lth_jax import pruning
from lth_jax.lottery import branches
from lth_jax.lottery import config as config_lib
from lth_jax.lottery import imp
from lth_jax.lottery import run_lock
from lth_jax.lottery import storage
from lth_jax.lottery import strategies
from lth_jax.lottery import summaries
from lth_jax.lottery.experiment import Experiment
from lth_jax.pruning import distance
from lth_jax.training import durations
from lth_jax.training import engine
from lth_jax.training.progress import Progress

MODES = ('oneshot', 'iterative')
TIMINGS = ('fraction', 'absolute')
#: The label of the per-replicate dense early-stop timing point.
EARLY_STOP = 'es'


@dataclasses.dataclass(frozen=True)
class Plan:
  """What an early-masking run does, resolved against the trunk.

  Attributes:
    mode: 'oneshot' or 'iterative'.
    targets: target shares of the prunable weights remaining.
    levels: the trunk level of each target (nearest exact count).
    timing_points: the one-shot timing points in steps (without 'es').
    add_early_stop: whether each replicate's dense early-stop step is a
      timing point too.
    iterative_timing: 'fraction' or 'absolute'.
    iterative_points: fractions or steps.
    grid: the regular steps of the early-bird sequence.
    doubling: the doubling steps of the flattening signal (0, first
      point, twice that, ..., T), captured whatever the timing points.
    window, threshold: the early-bird criterion.
    tolerance: how far below the full-mask ticket a ticket still matches.
    require_exact_replay: fail on a replay that differs from the trunk.
  """
  mode: str
  targets: tuple[float, ...]
  levels: tuple[int, ...]
  timing_points: tuple[int, ...]
  add_early_stop: bool
  iterative_timing: str
  iterative_points: tuple[float, ...]
  grid: tuple[int, ...]
  doubling: tuple[int, ...]
  window: int
  threshold: float
  tolerance: float
  require_exact_replay: bool


def parse_floats(spec: str, what: str) -> tuple[float, ...]:
  """``'0.07,0.036'`` -> ``(0.07, 0.036)``."""
  try:
    return tuple(float(s) for s in str(spec).split(',') if s.strip())
  except ValueError as e:
    raise ValueError(f'{what} {spec!r} is not a comma-separated list of '
                     'numbers.') from e


def doubling_points(first: int, total: int) -> tuple[int, ...]:
  """``0, first, 2 first, 4 first, ...`` below ``total``, and ``total``.

  >>> doubling_points(25, 300)
  (0, 25, 50, 100, 200, 300)
  """
  points, t = [0], first
  while t < total:
    points.append(t)
    t *= 2
  return tuple(points + [total])


def layer_counts(exp: Experiment, params: Any, level: int) -> list[int]:
  """The exact per-layer counts the trunk's strategy keeps at ``level``."""
  masks = exp.dense_masks(params)
  strategy = strategies.get_strategy(exp.config.pruning.strategy)
  shapes = jax.tree.map(lambda p: np.zeros(np.shape(p), np.float32), params)
  # Counts depend only on sizes and level: prune zeros of the right shapes.
  pruned = strategy(shapes, masks, exp.config.pruning, level)
  return [int(c) for c in jax.device_get(pruning.count_true(
      pruning.masks.mask_leaves(pruned)))]


def target_levels(exp: Experiment, params: Any, targets: Sequence[float],
                  max_level: int = 200) -> tuple[int, ...]:
  """Per target share, the level whose exact count is nearest it."""
  size = sum(int(np.size(m)) for m in pruning.masks.mask_leaves(
      exp.dense_masks(params)))
  shares = []
  for level in range(max_level + 1):
    shares.append(sum(layer_counts(exp, params, level)) / size)
    if shares[-1] < min(targets) / 2:
      break
  return tuple(int(np.argmin([abs(s - t) for s in shares])) for t in targets)


def plan(masking: ml_collections.ConfigDict, exp: Experiment,
         params: Any) -> Plan:
  """Validates ``masking`` against the trunk; raises a one-line error.

  Raises:
    ValueError: naming the field and the fix (a timing point beyond the
      training length, a target outside (0, 1), a window < 2, ...).
  """
  if masking.mode not in MODES:
    raise ValueError(f'masking.mode {masking.mode!r} is unknown; use one of '
                     f'{", ".join(MODES)}.')
  if masking.iterative_timing not in TIMINGS:
    raise ValueError(f'masking.iterative_timing {masking.iterative_timing!r}'
                     f' is unknown; use one of {", ".join(TIMINGS)}.')
  targets = parse_floats(masking.targets, 'masking.targets')
  for t in targets:
    if not 0.0 < t < 1.0:
      raise ValueError(f'target sparsity {t} is outside (0, 1): it is the '
                       'share of prunable weights remaining, e.g. '
                       'masking.targets=0.07,0.036.')
  if not targets:
    raise ValueError('masking.targets is empty; give e.g. 0.07,0.036.')
  distance.check_window(masking.early_bird_window,
                        masking.early_bird_threshold)
  total = exp.total_steps
  if masking.first_point < 1:
    raise ValueError(f'masking.first_point {masking.first_point} must be '
                     '>= 1 step.')
  doubling = doubling_points(int(masking.first_point), total)
  if masking.timing_points == 'doubling':
    points = doubling
  else:
    points = tuple(sorted({int(float(p)) for p in parse_floats(
        masking.timing_points, 'masking.timing_points')}))
  iterative = parse_floats(masking.iterative_points,
                           'masking.iterative_points')
  absolute = masking.iterative_timing == 'absolute'
  for t in points + (iterative if absolute else ()):
    if not 0 <= t <= total:
      raise ValueError(
          f'timing point {t:g} is beyond the training length ({total} '
          'steps); drop it from masking.timing_points/iterative_points or '
          'lengthen trunk.training.steps.')
  for f in () if absolute else iterative:
    if not 0.0 <= f <= 1.0:
      raise ValueError(f'iterative fraction {f} is outside [0, 1] of the '
                       "level's early-stop step.")
  for t in iterative if absolute else ():
    if t % exp.eval_every:
      raise ValueError(f'iterative timing point {t:g} is not on the '
                       f'evaluation grid (every {exp.eval_every} steps); '
                       'use a multiple of trunk.training.eval_every.')
  every = durations.parse_duration(masking.early_bird_every,
                                   exp.steps_per_epoch,
                                   'masking.early_bird_every',
                                   allow_zero=True) or exp.eval_every
  if not 0.0 <= masking.match_tolerance < 1.0:
    raise ValueError(f'masking.match_tolerance {masking.match_tolerance} '
                     'must be in [0, 1) (an accuracy difference).')
  if exp.config.pruning.rewind not in ('init', 'step'):
    raise ValueError(f'trunk.pruning.rewind={exp.config.pruning.rewind!r}: '
                     'early masking trains tickets from a rewind point; use '
                     "a trunk rewinding to 'init' or 'step'.")
  return Plan(
      mode=masking.mode, targets=targets,
      levels=target_levels(exp, params, targets), timing_points=points,
      add_early_stop=bool(masking.add_early_stop),
      iterative_timing=masking.iterative_timing,
      iterative_points=tuple(int(t) for t in iterative) if absolute
      else iterative, grid=tuple(range(0, total + 1, every)),
      doubling=doubling,
      window=int(masking.early_bird_window),
      threshold=float(masking.early_bird_threshold),
      tolerance=float(masking.match_tolerance),
      require_exact_replay=bool(masking.require_exact_replay))


def check_trunk_config(trunk: ml_collections.ConfigDict,
                       workdir: str) -> None:
  """Raises if ``workdir`` holds a trunk with another config than ``trunk``.

  Nothing is written. A workdir with no trunk at all is fine (level 0 is
  then trained once).
  """
  run_hash = config_lib.run_hash(trunk)
  root = pathlib.Path(workdir)
  mine = root / run_hash / 'config.json'
  # Fields added to the schema later are missing from old config.json
  # files: they take their defaults.
  defaults = json.loads(json.dumps(config_lib.flatten(
      config_lib.default_config()), default=str))

  def semantic(flat):
    full = {**defaults, **json.loads(json.dumps(flat, default=str))}
    return {k: v for k, v in full.items() if not config_lib.is_non_semantic(k)}

  want = semantic(config_lib.flatten(trunk))
  others = sorted(p for p in root.glob('*/config.json') if p != mine)
  if mine.exists():
    got = semantic(storage.read_json(mine))
    diff = sorted(k for k in set(got) | set(want) if got.get(k) !=
                  want.get(k))
    if diff:
      raise ValueError(
          f'the trunk in {mine.parent} has another config ({diff[0]}: '
          f'{got.get(diff[0])!r}, this run has {want.get(diff[0])!r}); '
          "pass that trunk's config as --config.trunk or a fresh --workdir.")
  elif others:
    got = semantic(storage.read_json(others[0]))
    diff = sorted(k for k in set(got) | set(want) if got.get(k) !=
                  want.get(k))
    first = diff[0] if diff else '?'
    raise ValueError(
        f'{workdir} holds a trunk with another config ({others[0].parent.name}'
        f': {first}={got.get(first)!r}, this run has {want.get(first)!r}); '
        "pass that trunk's config (the same options) or a fresh --workdir "
        'to train a new dense run.')


def progress(exp: Experiment) -> Progress:
  return Progress(enabled=exp.config.progress)


def em_dir(exp: Experiment) -> pathlib.Path:
  return exp.run_dir / 'early_masking'


def capture_dir(exp: Experiment, replicate: int) -> pathlib.Path:
  return em_dir(exp) / 'captures' / f'replicate_{replicate}'


def dense_summary(exp: Experiment, replicate: int) -> dict[str, Any]:
  return storage.read_json(storage.level_dir(exp.run_dir, replicate, 0)
                           / 'summary.json')


def point_steps(p: Plan, exp: Experiment, replicate: int
                ) -> dict[str, int]:
  """The one-shot timing points of a replicate: ``{label: step}``."""
  steps = {str(t): t for t in p.timing_points}
  if p.add_early_stop:
    steps[EARLY_STOP] = int(dense_summary(exp, replicate)['early_stop_step'])
  return steps


def capture_steps(p: Plan, exp: Experiment, replicate: int) -> list[int]:
  """Every step whose dense weights a replicate needs."""
  steps = (set(point_steps(p, exp, replicate).values()) | set(p.grid)
           | set(p.doubling))
  if p.mode == 'iterative' and p.iterative_timing == 'absolute':
    steps |= set(p.iterative_points)
  elif p.mode == 'iterative':  # fractions of the dense early-stop step
    steps |= set(range(0, exp.total_steps + 1, exp.eval_every))
  return sorted(steps)


def variables_of(state: Any) -> dict[str, Any]:
  return {'params': state.params, 'batch_stats': state.batch_stats}


def ensure_dense(exp: Experiment) -> None:
  """Trains the trunk's level 0 for replicates that lack it (only those)."""
  todo = [r for r in range(exp.config.replicates)
          if not storage.level_done(exp.run_dir, r, 0)]
  if not todo:
    return
  jobs = [imp.LevelJob(r, storage.level_dir(exp.run_dir, r, 0),
                       imp.start_state(exp, r, 0)) for r in todo]
  hooks = ((imp.rewind_point_saver(exp, jobs),)
           if exp.config.pruning.rewind == 'step' else ())
  for job, run_ in zip(jobs, imp.train_level(exp, 0, jobs, hooks,
                                              progress(exp))):
    imp.save_level(exp, job, run_.state, run_.rows, 0)


def capture(exp: Experiment, p: Plan) -> None:
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
    if (d / 'replay.json').exists():
      continue
    wanted[r] = capture_steps(p, exp, r)
    init = exp.init_variables(r)
    if 0 in wanted[r] and not storage.tree_exists(d / 'step_0'):
      storage.save_tree(d / 'step_0', init)
    jobs.append(imp.LevelJob(r, d, imp.start_state(exp, r, 0)))
  if not jobs:
    return

  def save(step, states):
    for job, state in zip(jobs, states):
      path = job.out_dir / f'step_{step}'
      if step in wanted[job.replicate] and not storage.tree_exists(path):
        storage.save_tree(path, variables_of(state))

  steps = tuple(sorted(set().union(*wanted.values()) - {0}))
  runs = imp.train_level(exp, 0, jobs, (engine.AtSteps(steps, save),),
                         progress(exp))
  for job, run_ in zip(jobs, runs):
    like = exp.init_variables(job.replicate)
    trunk = storage.load_tree(storage.level_dir(
        exp.run_dir, job.replicate, 0) / 'trained', like)
    final = jax.device_get(variables_of(run_.state))
    same = files.tree_digest(final) == files.tree_digest(trunk)
    diff = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
               for a, b in zip(jax.tree.leaves(final), jax.tree.leaves(trunk)))
    if not same and p.require_exact_replay:
      raise RuntimeError(
          f'the replay of replicate {job.replicate} ends {diff:.3g} away '
          "from the trunk's level-0 weights (not bit-identical): the trunk "
          'was trained by other code or on another machine. Rerun the '
          'trunk here, or set masking.require_exact_replay=False.')
    storage.write_json(job.out_dir / 'replay.json',
                       {'bit_identical': same, 'max_abs_diff': diff,
                        'steps': wanted[job.replicate]})
    storage.remove(storage.checkpoint_dir(job.out_dir))


def load_capture(exp: Experiment, replicate: int, step: int) -> Any:
  return storage.load_tree(capture_dir(exp, replicate) / f'step_{step}',
                           exp.init_variables(replicate))


def rewind_start(exp: Experiment, replicate: int
                 ) -> tuple[dict[str, Any], int]:
  """What tickets train from: the init, or the step-k weights."""
  init = exp.init_variables(replicate)
  target = imp.rewind_target(exp, replicate, 1, init)
  return target.variables, target.step


def counts_tag(masks: Any) -> str:
  """A short digest of a mask's per-layer counts (names control dirs)."""
  counts = [v['remaining'] for v in
            pruning.sparsity_report(masks)['layers'].values()]
  return hashlib.sha256(json.dumps(counts).encode()).hexdigest()[:8]


def saved_masks(path: pathlib.Path, like: Any, make) -> Any:
  """The masks at ``path``, or ``make()`` saved there first."""
  if storage.tree_exists(path):
    return storage.load_tree(path, like)
  masks = make()
  storage.save_tree(path, masks)
  return masks


@dataclasses.dataclass
class Ticket:
  """One job: where it writes, its mask and its replicate."""
  out_dir: pathlib.Path
  replicate: int
  level: int
  masks: Any


#: The trunk's branch whose masks the control reproduces.
CONTROL_BRANCH = 'random_prune_layer'


def control_ticket(exp: Experiment, replicate: int, level: int,
                   masks: Any) -> Ticket:
  """The random-prune control with ``masks``'s per-layer counts.

  Its key is the trunk's ``random_prune_layer`` key of that level, so with
  the same counts it is that branch's mask; where the branch level is
  finished with this very mask it is reused (never retrained).
  """
  key = branches.control_key(exp, replicate, level)
  dense = exp.dense_masks(exp.init_variables(replicate)['params'])
  branch = storage.level_dir(exp.run_dir, replicate, level, CONTROL_BRANCH)
  if storage.level_done(exp.run_dir, replicate, level, CONTROL_BRANCH):
    theirs = storage.load_tree(branch / 'masks', dense)
    mine = pruning.random_like(key, masks, 'layer')
    if pruning.hamming_distance(theirs, mine) == 0.0:
      return Ticket(branch, replicate, level, theirs)
  d = (em_dir(exp) / 'controls' / f'replicate_{replicate}'
       / f'level_{level}_{counts_tag(masks)}')
  control = saved_masks(d / 'masks', dense,
                        lambda: pruning.random_like(key, masks, 'layer'))
  return Ticket(d, replicate, level, control)


def train_tickets(exp: Experiment, tickets: Sequence[Ticket], label: int
                  ) -> None:
  """Trains every unfinished ticket from the rewind point, all together."""
  todo = {t.out_dir: t for t in tickets
          if not (t.out_dir / 'summary.json').exists()}
  if not todo:
    return
  jobs = []
  for t in todo.values():
    variables, step = rewind_start(exp, t.replicate)
    if not storage.tree_exists(t.out_dir / 'masks'):
      storage.save_tree(t.out_dir / 'masks', t.masks)
    jobs.append(imp.LevelJob(t.replicate, t.out_dir, exp.new_state(
        variables['params'], variables['batch_stats'], t.masks, t.replicate,
        step=step)))
  for job, run_ in zip(jobs, imp.train_level(exp, label, jobs, (),
                                              progress(exp))):
    imp.save_level(exp, job, run_.state, run_.rows, todo[job.out_dir].level)


def oneshot_tickets(exp: Experiment, p: Plan) -> list[Ticket]:
  """The one-shot tickets and their controls (masks saved as made)."""
  strategy = strategies.get_strategy(exp.config.pruning.strategy)
  tickets = []
  for level in p.levels:
    for r in range(exp.config.replicates):
      dense = exp.dense_masks(exp.init_variables(r)['params'])
      for label, step in point_steps(p, exp, r).items():
        d = (em_dir(exp) / 'oneshot' / f'level_{level}' / f'replicate_{r}'
             / f't_{label}')
        make = functools.partial(
            lambda r, step, level, dense: strategy(
                load_capture(exp, r, step)['params'], dense,
                exp.config.pruning, level), r, step, level, dense)
        masks = saved_masks(d / 'masks', dense, make)
        tickets.append(Ticket(d, r, level, masks))
        control = control_ticket(exp, r, level, masks)
        if control.out_dir not in {t.out_dir for t in tickets}:
          tickets.append(control)
  return tickets


def iterative_dir(exp: Experiment, point: float, replicate: int,
                  level: int) -> pathlib.Path:
  return (em_dir(exp) / 'iterative' / f'point_{point:g}'
          / f'replicate_{replicate}' / f'level_{level}')


def source_step(p: Plan, point: float, rows: list[dict[str, Any]]) -> int:
  """The step of a level whose weights make the next level's mask."""
  if p.iterative_timing == 'absolute':
    return int(point)
  stop = summaries.early_stop(rows)['step']
  grid = sorted(r['step'] for r in rows)
  return max(s for s in grid if s <= point * stop)


def iterative_levels(exp: Experiment, p: Plan) -> None:
  """IMP chains, one per (replicate, point): level L's mask from step t of
  level L-1; each level of all chains trains together."""
  strategy = strategies.get_strategy(exp.config.pruning.strategy)
  for level in range(1, max(p.levels) + 1):
    tickets, hook_dirs = [], {}
    for point in p.iterative_points:
      for r in range(exp.config.replicates):
        d = iterative_dir(exp, point, r, level)
        if (d / 'summary.json').exists():
          _keep_source(exp, p, point, Ticket(d, r, level, None))
          continue
        dense = exp.dense_masks(exp.init_variables(r)['params'])

        def make(point=point, r=r, dense=dense):
          if level == 1:
            rows = storage.read_jsonl(storage.level_dir(exp.run_dir, r, 0)
                                      / 'metrics.jsonl')
            source = load_capture(exp, r, source_step(p, point, rows))
            prev = dense
          else:
            prev_dir = iterative_dir(exp, point, r, level - 1)
            source = storage.load_tree(prev_dir / 'mask_source',
                                       exp.init_variables(r))
            prev = storage.load_tree(prev_dir / 'masks', dense)
          return strategy(source['params'], prev, exp.config.pruning, level)

        tickets.append(Ticket(d, r, level, saved_masks(d / 'masks', dense,
                                                       make)))
        hook_dirs[d] = point
    if not tickets:
      continue
    if level < max(p.levels):
      _train_capturing(exp, p, tickets, hook_dirs)
    else:
      train_tickets(exp, tickets, level)
    for t in tickets:
      _keep_source(exp, p, hook_dirs[t.out_dir], t)


def _train_capturing(exp: Experiment, p: Plan, tickets: list[Ticket],
                     points: dict[pathlib.Path, float]) -> None:
  """Trains a chain level, keeping the weights at every candidate step."""
  absolute = p.iterative_timing == 'absolute'
  todo = [t for t in tickets if not (t.out_dir / 'summary.json').exists()]
  if not todo:
    return
  jobs = []
  for t in todo:
    variables, step = rewind_start(exp, t.replicate)
    if step == 0 and not storage.tree_exists(t.out_dir / 'captures/step_0'):
      storage.save_tree(t.out_dir / 'captures' / 'step_0', variables)
    jobs.append(imp.LevelJob(t.replicate, t.out_dir, exp.new_state(
        variables['params'], variables['batch_stats'], t.masks, t.replicate,
        step=step)))

  def save(step, states):
    for job, state in zip(jobs, states):
      point = points[job.out_dir]
      keep = step == point if absolute else step % exp.eval_every == 0
      path = job.out_dir / 'captures' / f'step_{step}'
      if keep and not storage.tree_exists(path):
        storage.save_tree(path, variables_of(state))

  steps = (tuple(sorted({int(x) for x in points.values()})) if absolute
           else tuple(range(exp.eval_every, exp.total_steps + 1,
                            exp.eval_every)))
  for job, t, run_ in zip(jobs, todo, imp.train_level(
      exp, todo[0].level, jobs, (engine.AtSteps(steps, save),),
      progress(exp))):
    imp.save_level(exp, job, run_.state, run_.rows, t.level)


def _keep_source(exp: Experiment, p: Plan, point: float, t: Ticket) -> None:
  """Keeps the mask source of a finished chain level, drops the rest."""
  src = t.out_dir / 'mask_source'
  if storage.tree_exists(src) or not (t.out_dir / 'captures').exists():
    return
  rows = storage.read_jsonl(t.out_dir / 'metrics.jsonl')
  step = source_step(p, point, rows)
  tree = storage.load_tree(t.out_dir / 'captures' / f'step_{step}',
                           exp.init_variables(t.replicate))
  storage.save_tree(src, tree)
  storage.write_json(t.out_dir / 'mask_source.json', {'step': step})
  storage.remove(t.out_dir / 'captures')


def iterative_controls(exp: Experiment, p: Plan) -> list[Ticket]:
  """Controls at each target level with the chains' per-layer counts."""
  out = []
  for level in p.levels:
    for r in range(exp.config.replicates):
      dense = exp.dense_masks(exp.init_variables(r)['params'])
      for point in p.iterative_points:
        masks = storage.load_tree(iterative_dir(exp, point, r, level)
                                  / 'masks', dense)
        c = control_ticket(exp, r, level, masks)
        if c.out_dir not in {t.out_dir for t in out}:
          out.append(c)
  return out


def run(config: ml_collections.ConfigDict, workdir: str,
        dataset: Any = None) -> Plan:
  """Runs (or resumes) an early-masking experiment on a lottery trunk.

  Args:
    config: ``{'trunk': <lottery config>, 'masking': ...}`` (see
      ``configs/early_masking.py``).
    workdir: the trunk's workdir; the trunk is ``workdir/<trunk-hash>``.
    dataset: optional preloaded ``lth_jax.data.Dataset`` (tests).

  Returns:
    The resolved ``Plan`` (results are on disk; see
    ``lth_jax.analysis.early_masking_report``).

  Raises:
    ValueError: for bad input (before anything is written).
  """
  config_lib.validate(config.trunk)
  check_trunk_config(config.trunk, workdir)
  exp = Experiment.setup(config.trunk, workdir, dataset)
  p = plan(config.masking, exp, exp.init_variables(0)['params'])
  with run_lock.RunLock(exp.run_dir):
    storage.remove_stale(exp.run_dir)
    exp.write_config()
    ensure_dense(exp)
    capture(exp, p)
    if p.mode == 'oneshot':
      train_tickets(exp, oneshot_tickets(exp, p), 0)
    else:
      iterative_levels(exp, p)
      train_tickets(exp, iterative_controls(exp, p), 0)
  return p
