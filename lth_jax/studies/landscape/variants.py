"""The IMP trunks a landscape study reads: one per per-level prune rate.

A variant is the study's trunk config with one change: ``rate_<pct>``
prunes ``pct`` % of the remaining hidden weights per level (the output
layer at half that rate, Frankle & Carbin 2019), ``rate_<pct>_lr_x<f>``
also multiplies the learning rate by ``f`` (the positive control: too
large a step breaks the connectivity between levels). Each variant has
as many levels as it takes to reach ``min_density`` of the weights, at
most ``max_levels``. ``rule_<rule>`` (``schedule``) chooses each level's
fraction from the landscape of the level before: ``max_levels`` levels.

``ensure_trained`` trains what is missing of a variant (trunk and
controls) with ``lottery.imp`` and ``lottery.branches``; a variant whose
every level exists is only read, never written.
"""
import copy
import pathlib
import math
from typing import Any, NamedTuple

import ml_collections

from lth_jax import errors
from lth_jax.lottery import branches
from lth_jax.lottery import config as config_lib
from lth_jax.lottery import imp
from lth_jax.runs import storage
from lth_jax.studies.landscape import schedule
from lth_jax.pruning import magnitude


class Variant(NamedTuple):
  """One trunk of the study.

  Attributes:
    name: ``rate_20`` or ``rate_20_lr_x10``.
    rate: the per-level prune rate of the hidden layers.
    lr_factor: the learning rate's multiple of the trunk's.
    controls: the branches (``lottery.branches``) trained beside it.
    config: its lottery config (locked).
    rule: ``schedule.RULES``' entry that chooses its fractions, or None.
  """
  name: str
  rate: float | None
  lr_factor: float
  controls: tuple[str, ...]
  config: ml_collections.ConfigDict
  rule: str | None = None


def levels_for(rate: float, min_density: float, max_levels: int) -> int:
  """Levels until ``(1 - rate) ** L <= min_density``, at most ``max_levels``.

  >>> levels_for(0.2, 0.05, 20), levels_for(0.8, 0.01, 4)
  (14, 3)
  """
  magnitude.check_rate(rate, 'per-level prune rate')
  if not 0 < min_density < 1:
    raise errors.InputError(
        f'min_density must be in (0, 1), got {min_density!r}.')
  if rate == 0:
    return max_levels
  return max(1, min(max_levels, math.ceil(
      math.log(min_density) / math.log(1 - rate) - 1e-9)))


def variant_name(rate: float, lr_factor: float = 1.0) -> str:
  """``variant_name(0.2) == 'rate_20'``; with ``lr_factor=10``:
  ``'rate_20_lr_x10'``."""
  name = f'rate_{round(100 * rate):02d}'
  return name if lr_factor == 1 else f'{name}_lr_x{lr_factor:g}'


def make_variant(trunk: ml_collections.ConfigDict, rate: float,
                 min_density: float, max_levels: int, lr_factor: float = 1.0,
                 controls: tuple[str, ...] = ()) -> Variant:
  """The trunk config at ``rate`` (and ``lr_factor``), locked."""
  for name in controls:
    branches.get_branch(name)  # raises, listing the known names
  config = copy.deepcopy(trunk)
  config.unlock()
  config.pruning.rate = float(rate)
  config.pruning.layer_rates = f'output/={rate / 2:g}'
  config.pruning.levels = levels_for(rate, min_density, max_levels)
  config.training.learning_rate = trunk.training.learning_rate * lr_factor
  config.lock()
  config_lib.validate(config)
  return Variant(variant_name(rate, lr_factor), float(rate),
                 float(lr_factor), tuple(controls), config)


def rule_variant(trunk: ml_collections.ConfigDict, rule: str,
                 max_levels: int) -> Variant:
  """The trunk pruned by ``rule`` (``schedule``) for ``max_levels`` levels;
  its output layer at half the hidden layers' fraction."""
  base = make_variant(trunk, 0.2, 0.5, max_levels)
  config = copy.deepcopy(base.config)
  config.unlock()
  config.pruning.strategy = schedule.strategy_name(rule)
  config.pruning.levels = max_levels
  config.lock()
  config_lib.validate(config)
  return Variant(f'rule_{rule}', None, 1.0, (), config, rule)


def variants(c: ml_collections.ConfigDict) -> list[Variant]:
  """Every variant of a study config (``configs/landscape_*.py``)."""
  s = c.landscape
  out = [make_variant(c.trunk, r, s.min_density, s.max_levels,
                      controls=tuple(s.controls) if r == s.control_rate
                      else ()) for r in s.rates]
  out += [make_variant(c.trunk, s.control_rate, s.min_density, s.max_levels,
                       lr_factor=f) for f in s.high_lr_factors]
  out += [rule_variant(c.trunk, rule, s.max_levels) for rule in s.rules]
  names = [v.name for v in out]
  if len(set(names)) != len(names):
    raise errors.InputError(
        f'the study lists a variant twice ({names}): give each '
        'rate and learning-rate factor once.')
  return out


def run_dir(variant: Variant, trunk_workdir: str) -> pathlib.Path:
  """``<trunk_workdir>/<run-hash>``: the variant's trunk."""
  return config_lib.run_dir(variant.config, trunk_workdir)


def missing(variant: Variant, trunk_workdir: str) -> list[str]:
  """What of a variant is not finished: ``['trunk', 'random_reinit']``."""
  d = run_dir(variant, trunk_workdir)
  reps = range(variant.config.replicates)
  levels = range(variant.config.pruning.levels + 1)
  out = []
  if not all(storage.level_done(d, r, l) for r in reps for l in levels):
    out.append('trunk')
  for name in variant.controls:
    if not all(storage.level_done(d, r, l, name) for r in reps
               for l in levels[1:]):
      out.append(name)
  return out


def ensure_trained(variant: Variant, trunk_workdir: str,
                   dataset: Any = None, log: Any = print) -> None:
  """Trains the missing parts of a variant; writes nothing if none is."""
  todo = missing(variant, trunk_workdir)
  if 'trunk' in todo:
    log(f'{variant.name}: training the trunk '
        f'({variant.config.pruning.levels} levels)')
    imp.run(variant.config, trunk_workdir, dataset)
  for name in todo:
    if name != 'trunk':
      log(f'{variant.name}: training control {name}')
      branches.run_branch(variant.config, trunk_workdir, name, dataset)
