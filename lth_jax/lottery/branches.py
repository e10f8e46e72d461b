"""Controls as branches: retrain a finished trunk's levels with one change.

A branch level ``L`` trains exactly as trunk level ``L`` does (same
optimizer, schedule position, data order and duration) but starts from
changed weights or a changed mask:

* ``random_reinit``: the trunk's mask, fresh initial weights;
* ``same_sign_reinit``: the trunk's mask, fresh magnitudes with the signs of
  the weights the trunk level starts from (the original init when rewinding
  to init; Zhou et al. 2019);
* ``random_prune_layer`` / ``random_prune_global``: the weights the trunk
  level starts from under a uniformly random mask with the same per-layer
  (or only the same total) count.

Branch randomness comes from the replicate's control stream folded with the
level. Outputs go to ``replicate_<r>/branch_<name>/level_<L>/`` with the
trunk's files; a finished branch level is skipped, a killed one resumes.
Level 0 is the dense network, where every control equals the trunk, so
branches start at level 1.
"""
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import ml_collections

from lth_jax import errors
from lth_jax import pruning
from lth_jax import registry
from lth_jax.lottery import experiment
from lth_jax.lottery import imp
from lth_jax.lottery import jobs as jobs_lib
from lth_jax.runs import storage
from lth_jax.lottery.experiment import Experiment
from lth_jax.training.progress import Progress

PyTree = Any


class TrunkStart(NamedTuple):
  """What a trunk level starts from (see ``trunk_start``).

  Attributes:
    variables: the unmasked ``{'params', 'batch_stats'}`` it rewinds to.
    masks: the level's masks.
    step: the step training starts at (``rewind_step`` for late rewinding).
    constant_lr: the fine-tuning learning rate, or None (the schedule).
  """
  variables: dict[str, Any]
  masks: PyTree
  step: int
  constant_lr: float | None


#: ``control(exp, replicate, key, trunk) -> (variables, masks)``.
Control = Callable[[Experiment, int, jax.Array, TrunkStart],
                   tuple[dict[str, Any], PyTree]]
_CONTROLS: registry.Registry[Control] = registry.Registry(
    'branch', hint='Studies register more (pruning at init: snip, grasp, '
    'synflow, ...) when imported: import lth_jax.studies.')

#: Decorator: registers a control under a name.
register_branch = _CONTROLS.register
all_branch_names = _CONTROLS.names
get_branch = _CONTROLS.get


def same_sign(magnitudes: PyTree, signs: PyTree, masks: PyTree) -> PyTree:
  """``|magnitudes|`` with the signs of ``signs`` on prunable leaves.

  Leaves whose mask is ``None`` take ``magnitudes`` unchanged; a zero in
  ``signs`` keeps the sign of ``magnitudes``.

  >>> same_sign({'w': jnp.array([.5, -2., 3.]), 'b': jnp.array([-1.])},
  ...           {'w': jnp.array([-1., 1., 0.]), 'b': jnp.array([1.])},
  ...           {'w': jnp.ones(3, bool), 'b': None})['w']
  Array([-0.5,  2. ,  3. ], dtype=float32)
  """
  def leaf(m, mag, sign):
    if m is None:
      return mag
    return jnp.where(sign == 0, mag, jnp.abs(mag) * jnp.sign(sign))
  return jax.tree.map(leaf, masks, magnitudes, signs,
                      is_leaf=lambda x: x is None)


@register_branch('random_reinit')
def random_reinit(exp: Experiment, replicate: int, key: jax.Array,
                  trunk: TrunkStart) -> tuple[dict[str, Any], PyTree]:
  """The trunk's mask on fresh initial weights."""
  return exp.init_variables(replicate, key=key), trunk.masks


@register_branch('same_sign_reinit')
def same_sign_reinit(exp: Experiment, replicate: int, key: jax.Array,
                     trunk: TrunkStart) -> tuple[dict[str, Any], PyTree]:
  """The trunk's mask; fresh magnitudes with the trunk start's signs."""
  fresh = exp.init_variables(replicate, key=key)
  params = same_sign(fresh['params'], trunk.variables['params'],
                     trunk.masks)
  return {'params': params, 'batch_stats': fresh['batch_stats']}, trunk.masks


def _random_prune(scope: str) -> Control:
  def control(exp, replicate, key, trunk):
    del exp, replicate
    return trunk.variables, pruning.random_like(key, trunk.masks, scope)
  control.__doc__ = (f'The trunk start weights under a random mask with the '
                     f'same {scope} counts.')
  return control


register_branch('random_prune_layer')(_random_prune('layer'))
register_branch('random_prune_global')(_random_prune('global'))


def trunk_start(exp: Experiment, replicate: int, level: int) -> TrunkStart:
  """The unmasked rewind target, masks, step and learning rate of a trunk
  level (what ``imp.start_state`` turns into a masked train state)."""
  init = exp.init_variables(replicate)
  target = imp.rewind_target(exp, replicate, level, init)
  return TrunkStart(target.variables,
                    imp.level_masks(exp, replicate, level, init),
                    target.step, target.constant_lr)


def control_key(exp: Experiment, replicate: int, level: int) -> jax.Array:
  """The key of a control's randomness at one level of one replicate."""
  return jax.random.fold_in(
      exp.replicate_key(replicate, experiment.CONTROL_STREAM), level)


def start_state(exp: Experiment, branch: str, replicate: int, level: int
                ) -> Any:
  """The train state a branch level starts from."""
  trunk = trunk_start(exp, replicate, level)
  variables, masks = get_branch(branch)(
      exp, replicate, control_key(exp, replicate, level), trunk)
  return exp.new_state(variables['params'], variables['batch_stats'], masks,
                       replicate, step=trunk.step,
                       constant_lr=trunk.constant_lr)


def check_trunk_done(exp: Experiment, levels: Sequence[int]) -> None:
  """Raises ``FileNotFoundError`` unless every needed trunk level is done."""
  for level in levels:
    for r in range(exp.config.replicates):
      if not storage.level_done(exp.run_dir, r, level):
        raise errors.MissingInputError(
            f'trunk level {level} of replicate {r} is not finished under '
            f'{exp.run_dir} ({storage.level_dir(exp.run_dir, r, level)}/'
            'summary.json is missing): run the trunk first '
            '(python -m experiments.lottery with the same config and '
            '--workdir).')


def run_levels(exp: Experiment, branch: str,
               progress: Progress | None = None,
               levels: Sequence[int] | None = None) -> None:
  """Trains every missing (replicate, level) of ``branch``: every trunk
  level >= 1, or only ``levels``."""
  get_branch(branch)
  if levels is None:
    levels = range(1, exp.config.pruning.levels + 1)
  check_trunk_done(exp, levels)
  for level in levels:
    todo = [r for r in range(exp.config.replicates)
            if not storage.level_done(exp.run_dir, r, level, branch)]
    if not todo:
      continue
    jobs = [jobs_lib.Job(r, storage.level_dir(exp.run_dir, r, level, branch),
                         start_state(exp, branch, r, level), level, branch)
            for r in todo]
    jobs_lib.run(exp, f'level {level}', jobs, progress=progress)


def run_branch(config: ml_collections.ConfigDict, workdir: str, branch: str,
               dataset: Any = None) -> list[dict[str, Any]]:
  """Runs (or resumes) a control branch against a finished lottery trunk.

  Args:
    config: the trunk's config (the same run hash).
    workdir: as given to ``lottery.run``; the trunk is ``workdir/<hash>``.
    branch: one of ``all_branch_names()``.
    dataset: optional preloaded ``lth_jax.data.Dataset`` (tests).

  Returns:
    The branch's per-level summaries of every replicate, sorted by level.

  Raises:
    ValueError: for an unknown branch name.
    FileNotFoundError: if a trunk level is missing ("run the trunk first").
  """
  get_branch(branch)
  with imp.locked_experiment(config, workdir, dataset) as exp:
    run_levels(exp, branch, Progress(enabled=config.progress))
  return storage.collect(exp.run_dir, branch)
