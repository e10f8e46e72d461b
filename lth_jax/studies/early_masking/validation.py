"""Early-masking settings resolved against the trunk, and their validation.

``plan`` turns the ``masking`` config section into a ``Plan`` (timing
points in steps, the trunk level of each target share, the early-bird
settings) and raises a one-line error for bad input before anything is
written; ``check_trunk_config`` refuses a workdir whose trunk has another
config.
"""
import dataclasses
import json
import pathlib
from typing import Any, Sequence

import jax
import ml_collections
import numpy as np

from lth_jax import config_lists
from lth_jax import errors
from lth_jax import pruning
from lth_jax.lottery import config as config_lib
from lth_jax.runs import layout
from lth_jax.runs import storage
from lth_jax.lottery import strategies
from lth_jax.lottery.experiment import Experiment
from lth_jax.pruning import distance
from lth_jax.training import durations

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
    return config_lists.items(spec, float)
  except ValueError as e:
    raise errors.ConfigError(
        f'{what} {spec!r} is not a comma-separated list of numbers.') from e


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
    raise errors.ConfigError(
        f'masking.mode {masking.mode!r} is unknown; use one of '
        f'{", ".join(MODES)}.')
  if masking.iterative_timing not in TIMINGS:
    raise errors.ConfigError(
        f'masking.iterative_timing {masking.iterative_timing!r}'
        f' is unknown; use one of {", ".join(TIMINGS)}.')
  targets = parse_floats(masking.targets, 'masking.targets')
  for t in targets:
    if not 0.0 < t < 1.0:
      raise errors.ConfigError(
          f'target sparsity {t} is outside (0, 1): it is the '
          'share of prunable weights remaining, e.g. '
          'masking.targets=0.07,0.036.')
  if not targets:
    raise errors.ConfigError('masking.targets is empty; give e.g. 0.07,0.036.')
  distance.check_window(masking.early_bird_window,
                        masking.early_bird_threshold)
  total = exp.total_steps
  if masking.first_point < 1:
    raise errors.ConfigError(
        f'masking.first_point {masking.first_point} must be '
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
      raise errors.ConfigError(
          f'timing point {t:g} is beyond the training length ({total} '
          'steps); drop it from masking.timing_points/iterative_points or '
          'lengthen trunk.training.steps.')
  for f in () if absolute else iterative:
    if not 0.0 <= f <= 1.0:
      raise errors.ConfigError(
          f'iterative fraction {f} is outside [0, 1] of the '
          "level's early-stop step.")
  for t in iterative if absolute else ():
    if t % exp.eval_every:
      raise errors.ConfigError(f'iterative timing point {t:g} is not on the '
                       f'evaluation grid (every {exp.eval_every} steps); '
                       'use a multiple of trunk.training.eval_every.')
  every = durations.parse_duration(masking.early_bird_every,
                                   exp.steps_per_epoch,
                                   'masking.early_bird_every',
                                   allow_zero=True) or exp.eval_every
  if not 0.0 <= masking.match_tolerance < 1.0:
    raise errors.ConfigError(
        f'masking.match_tolerance {masking.match_tolerance} '
        'must be in [0, 1) (an accuracy difference).')
  if exp.config.pruning.rewind not in ('init', 'step'):
    raise errors.ConfigError(
        f'trunk.pruning.rewind={exp.config.pruning.rewind!r}: '
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
  mine = layout.RunLayout.of(root, run_hash).config
  # Fields added to the schema later are missing from old config.json
  # files: they take their defaults.
  defaults = json.loads(json.dumps(config_lib.flatten(
      config_lib.default_config()), default=str))

  def semantic(flat):
    full = {**defaults, **json.loads(json.dumps(flat, default=str))}
    return {k: v for k, v in full.items() if not config_lib.is_non_semantic(k)}

  want = semantic(config_lib.flatten(trunk))
  others = sorted(p for p in root.glob(layout.RUN_CONFIGS_GLOB) if p != mine)
  if mine.exists():
    got = semantic(storage.read_json(mine))
    diff = sorted(k for k in set(got) | set(want) if got.get(k) !=
                  want.get(k))
    if diff:
      raise errors.InputError(
          f'the trunk in {mine.parent} has another config ({diff[0]}: '
          f'{got.get(diff[0])!r}, this run has {want.get(diff[0])!r}); '
          "pass that trunk's config as --config.trunk or a fresh --workdir.")
  elif others:
    got = semantic(storage.read_json(others[0]))
    diff = sorted(k for k in set(got) | set(want) if got.get(k) !=
                  want.get(k))
    first = diff[0] if diff else '?'
    raise errors.InputError(
        f'{workdir} holds a trunk with another config ({others[0].parent.name}'
        f': {first}={got.get(first)!r}, this run has {want.get(first)!r}); '
        "pass that trunk's config (the same options) or a fresh --workdir "
        'to train a new dense run.')


