"""The connectivity (instability) sweep's config: its schema and checks.

``config.trunk`` is the trunk's lottery config; ``config.connectivity``
holds the sweep (``configs/connectivity_lenet300_mnist.py``). A
``SweepSpec`` is built from it once (``spec_from_config``: list fields as
real lists or comma text, through ``config_lists``) and checked in two
steps: ``check_spec_shape`` needs nothing else, ``check_spec`` needs the
trunk's training length and data. Errors are ``errors.ConfigError`` naming
the ``connectivity.<field>`` and the fix.
"""
import dataclasses
from typing import Any, Iterable

import numpy as np

from lth_jax import config_lists
from lth_jax import errors
from lth_jax.analysis import connectivity


@dataclasses.dataclass(frozen=True)
class SweepSpec:
  """What an instability sweep covers, and how it measures.

  Attributes:
    rewind_steps: the rewind iterations k (0 = initialisation).
    levels: trunk levels whose masks make the start states (0 = dense).
    replicates: trunk replicates (inits) used.
    pairs: data-order pairs per (k, level, replicate).
    num_alphas: points along each path (``connectivity.alpha_grid``).
    threshold: instability below which a start state is stable.
    batch_norm: ``'recompute'`` or ``'interpolate'``
      (``connectivity.BATCH_NORM_MODES``).
    train_eval_examples: training examples (the first ones) the train
      error along the path is measured on.
    batch_norm_examples: training examples batch-norm statistics are
      recomputed on (in batches of the training batch size).
  """
  rewind_steps: tuple[int, ...]
  levels: tuple[int, ...]
  replicates: tuple[int, ...]
  pairs: int = 1
  num_alphas: int = connectivity.NUM_ALPHAS
  threshold: float = connectivity.STABILITY_THRESHOLD
  batch_norm: str = 'recompute'
  train_eval_examples: int = 10000
  batch_norm_examples: int = 2048

  def measurement(self) -> dict[str, Any]:
    """The settings every path's numbers depend on (checked on resume)."""
    return {'num_alphas': self.num_alphas, 'batch_norm': self.batch_norm,
            'train_eval_examples': self.train_eval_examples,
            'batch_norm_examples': self.batch_norm_examples}


def _ints(values: Iterable[Any], name: str, minimum: int) -> None:
  values = list(values)
  if not values:
    raise errors.ConfigError(
        f'connectivity.{name} is empty: give at least one value.')
  for v in values:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or (
        v < minimum):
      raise errors.ConfigError(
          f'connectivity.{name} must hold integers >= {minimum}, got '
          f'{v!r}.')
  if len(set(values)) != len(values):
    raise errors.ConfigError(
        f'connectivity.{name} has duplicates ({values}): list each once.')


def check_spec_shape(spec: SweepSpec) -> None:
  """Checks what needs no data: the lists, points, threshold and mode."""
  _ints(spec.rewind_steps, 'rewind_steps', 0)
  _ints(spec.levels, 'levels', 0)
  _ints(spec.replicates, 'replicates', 0)
  _ints([spec.pairs], 'pairs', 1)
  try:
    connectivity.alpha_grid(spec.num_alphas)  # raises for < 2 points
  except ValueError as e:
    raise errors.ConfigError(f'connectivity.num_alphas: {e}') from e
  if not 0 < spec.threshold < 1:
    raise errors.ConfigError(
        f'connectivity.threshold must be in (0, 1) (an error difference), '
        f'got {spec.threshold!r}; the paper uses 0.02.')
  if spec.batch_norm not in connectivity.BATCH_NORM_MODES:
    raise errors.ConfigError(
        f'connectivity.batch_norm: unknown mode {spec.batch_norm!r}; known: '
        f'{", ".join(connectivity.BATCH_NORM_MODES)}.')


def check_spec(spec: SweepSpec, total_steps: int, num_train: int,
               batch_size: int) -> None:
  """Raises ``ValueError`` (naming the fix) for a sweep that cannot run.

  Args:
    spec: the sweep.
    total_steps: the training length of the trunk's levels.
    num_train: the number of training examples.
    batch_size: the training batch size.
  """
  check_spec_shape(spec)
  late = [k for k in spec.rewind_steps if k >= total_steps]
  if late:
    raise errors.ConfigError(
        f'connectivity.rewind_steps: rewind step {late[0]} is not before '
        f'the end of training ({total_steps} steps): use rewind steps '
        f'below {total_steps}.')
  for name in ('train_eval_examples', 'batch_norm_examples'):
    value = getattr(spec, name)
    if not 1 <= value <= num_train:
      raise errors.ConfigError(
          f'connectivity.{name} must be in [1, {num_train}] (the training '
          f'examples), got {value!r}.')
  if spec.batch_norm_examples < batch_size:
    raise errors.ConfigError(
        f'connectivity.batch_norm_examples ({spec.batch_norm_examples}) '
        f'must hold at least one batch ({batch_size}).')


def spec_from_config(c: Any) -> SweepSpec:
  """The ``SweepSpec`` of a config's ``connectivity`` group."""
  return SweepSpec(
      rewind_steps=config_lists.items(c.rewind_steps, _int),
      levels=config_lists.items(c.levels, _int),
      replicates=config_lists.items(c.replicates, _int), pairs=c.pairs,
      num_alphas=c.num_alphas, threshold=c.threshold,
      batch_norm=c.batch_norm, train_eval_examples=c.train_eval_examples,
      batch_norm_examples=c.batch_norm_examples)



def _int(value: Any) -> Any:
  """An integer entry (text is converted; anything else is checked later).
  """
  if isinstance(value, str):
    try:
      return int(value)
    except ValueError as e:
      raise errors.ConfigError(
          f'{value!r} is not an integer: list integers.') from e
  return value
