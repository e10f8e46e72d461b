"""IMP whose per-level prune fraction is chosen from the landscape.

Paul et al. 2023 read the largest fraction IMP can prune per level off the
landscape of the level's solution. This module reruns IMP with the
fraction chosen that way, per replicate, instead of a fixed rate:

* rule ``'predicted'``: level L+1 prunes the largest ``f`` with
  ``0.5 * lambda_max * ||delta(f)||^2 <= tau`` at level L's solution
  (``measure.predicted_fraction``; ``lambda_max`` from
  ``measure.level_curvature``, the study's own measurement);
* rule ``'measured'``: the largest ``f`` whose one-shot projection raises
  the training loss by at most ``tau`` (``measure.measured_fraction``,
  bisection).

``f`` is the hidden layers' fraction of their remaining weights, the output
layer's is half of it (``measure.prune_fn``), as in the fixed-rate trunks.

The trunk is an ordinary lottery trunk (``lottery.imp``: its job runner,
rewinding, storage and run hash) whose ``pruning.strategy`` is
``landscape_<rule>``. Before level L+1 trains, ``ensure_trained`` saves its
masks where the trunk keeps a level's start masks; ``imp.level_masks`` then
reads them, so the registered strategy itself never runs (it has no loss
nor data, and refuses).
"""
import copy
from typing import Any, Callable

import ml_collections

from lth_jax import errors
from lth_jax.lottery import config as config_lib
from lth_jax.lottery import imp
from lth_jax.lottery import strategies
from lth_jax.lottery.experiment import Experiment
from lth_jax.runs import layout
from lth_jax.runs import processes
from lth_jax.runs import storage
from lth_jax.studies.landscape import measure

#: The rules that choose a level's prune fraction.
RULES = ('predicted', 'measured')
_PREFIX = 'landscape_'


def strategy_name(rule: str) -> str:
  """``strategy_name('measured') == 'landscape_measured'``."""
  if rule not in RULES:
    raise errors.ConfigError(
        f'unknown landscape rule {rule!r}; known: {", ".join(RULES)}.')
  return _PREFIX + rule


def rule_of(config: ml_collections.ConfigDict) -> str:
  """The rule of a ``landscape_<rule>`` trunk config."""
  name = config.pruning.strategy
  rule = name[len(_PREFIX):] if name.startswith(_PREFIX) else None
  if rule not in RULES:
    raise errors.ConfigError(
        f'pruning.strategy {name!r} is not a landscape rule; known: '
        f'{", ".join(strategy_name(r) for r in RULES)}.')
  return rule


def _refuse(rule: str) -> strategies.Strategy:
  def strategy(params, masks, cfg, level):
    del params, masks, cfg
    raise errors.RunStateError(
        f'level {level} of a {strategy_name(rule)!r} trunk has no saved '
        'masks: its fraction is chosen from the previous level\'s '
        'landscape. Train it with lth_jax.studies.landscape.schedule.'
        'ensure_trained (python -m experiments.landscape), not '
        'lottery.imp.run.')
  return strategy


for _rule in RULES:
  strategies.register_strategy(strategy_name(_rule))(_refuse(_rule))


def choose(exp: Experiment, level: int, solutions: list[measure.Solution],
           data: measure.Data, spec: measure.Spec, rule: str) -> list[float]:
  """Each replicate's fraction for the level after ``level`` (whose
  ``solutions`` are given), by ``rule``."""
  if rule == 'measured':
    return [measure.measured_fraction(exp, s, data, spec).fraction
            for s in solutions]
  curv = measure.level_curvature(exp, level, solutions, data, spec)
  return [measure.predicted_fraction(exp, s, spec, c['lambda_max']).fraction
          for s, c in zip(solutions, curv)]


def next_masks(exp: Experiment, solution: measure.Solution, fraction: float
               ) -> Any:
  """A solution's masks pruned by ``fraction`` (``measure.prune_fn``)."""
  masks, variables = solution
  return measure.prune_fn(exp)(variables['params'], masks, fraction)


def save_level_masks(exp: Experiment, level: int, data: measure.Data,
                     spec: measure.Spec, log: Callable[[str], None]) -> None:
  """Chooses and saves the start masks of ``level`` (>= 1) for every
  replicate that has none, from level ``level - 1``'s solutions."""
  run = layout.RunLayout(exp.run_dir)
  reps = exp.config.replicates
  paths = [run.job(r, level).masks for r in range(reps)]
  if all(storage.tree_exists(p) for p in paths):
    return
  sol = measure.load_solutions(exp, [level - 1])[level - 1]
  fractions = choose(exp, level - 1, sol, data, spec, rule_of(exp.config))
  log(f'{exp.config.pruning.strategy} level {level}: fractions '
      f'{[round(f, 3) for f in fractions]}')
  for r, (path, fraction) in enumerate(zip(paths, fractions)):
    if processes.owns(r, reps):
      storage.save_tree_once(path, next_masks(exp, sol[r], fraction))
  processes.barrier(f'level {level} masks chosen')


def with_levels(config: ml_collections.ConfigDict, levels: int
                ) -> ml_collections.ConfigDict:
  """``config`` with ``pruning.levels`` set (not part of the run hash)."""
  out = copy.deepcopy(config)
  out.unlock()
  out.pruning.levels = levels
  out.lock()
  return out


def ensure_trained(config: ml_collections.ConfigDict, trunk_workdir: str,
                   landscape: ml_collections.ConfigDict, spec: measure.Spec,
                   dataset: Any = None, log: Callable[[str], None] = print
                   ) -> None:
  """Trains the missing levels of a ``landscape_<rule>`` trunk, level by
  level; a finished level is only read.

  Args:
    config: the trunk config (``variants.rule_variant``).
    trunk_workdir: where it is trained (``<trunk_workdir>/<run-hash>``).
    landscape: the study settings (``config.landscape``): its examples.
    spec: what the rule measures with (``measure.spec_from_config``).
    dataset: optional preloaded ``lth_jax.data.Dataset`` (tests).
    log: progress lines.
  """
  rule_of(config)
  run_dir = config_lib.run_dir(config, trunk_workdir)
  for level in range(config.pruning.levels + 1):
    if all(storage.level_done(run_dir, r, level)
           for r in range(config.replicates)):
      continue   # finished: only read, never locked nor written
    with imp.locked_experiment(with_levels(config, level), trunk_workdir,
                               dataset) as exp:
      if level > 0:
        data = measure.study_data(
            exp, landscape.hessian_examples, landscape.hessian_batch_size,
            landscape.eval_examples)
        save_level_masks(exp, level, data, spec, log)
      log(f'{config.pruning.strategy}: training level {level}')
      imp.run_levels(exp)

