"""The transfer config's schema: what a ticket transfer trains.

``config.transfer`` holds ``levels``, ``variants`` (real lists or comma
text, read by ``config_lists``), ``head`` and ``head_mask``;
``parse_spec`` makes a ``TransferSpec`` of them and ``check_spec`` checks
it against the source trunk. Errors are ``errors.ConfigError`` naming the
``transfer.<field>`` and the fix.
"""
import re
from typing import NamedTuple

from lth_jax import config_lists
from lth_jax import errors

VARIANTS = ('ticket', 'reinit', 'random')
HEAD_MASKS = ('dense', 'pruned')


class TransferSpec(NamedTuple):
  """What to transfer.

  Attributes:
    levels: the source levels to transfer (each also a target level), in
      the order they train.
    variants: a subset of ``VARIANTS``; controls skip level 0 (dense),
      where ``random`` and ``reinit`` coincide with a dense fresh init.
    head: regex over parameter paths of the layers re-initialised for the
      target (``''``: none, the whole source network transfers).
    head_mask: ``'dense'`` or ``'pruned'`` (random, the source head's kept
      fraction).
  """
  levels: tuple[int, ...]
  variants: tuple[str, ...] = VARIANTS
  head: str = r'^output/'
  head_mask: str = 'dense'


def check_spec(spec: TransferSpec, source_levels: int) -> None:
  """Raises ``ValueError`` for a spec that cannot run on the source.

  >>> check_spec(TransferSpec(levels=(0, 3)), source_levels=15)
  >>> check_spec(TransferSpec(levels=(16,)), source_levels=15)
  Traceback (most recent call last):
  ...
  lth_jax.errors.ConfigError: transfer.levels: transfer level 16 is not ...
  """
  if not spec.levels:
    raise errors.ConfigError(
        'transfer.levels is empty: pass e.g. levels=(0, 7, 15).')
  for level in spec.levels:
    if isinstance(level, bool) or not isinstance(level, int) or not (
        0 <= level <= source_levels):
      raise errors.ConfigError(
          f'transfer.levels: transfer level {level!r} is not a level of the '
          f'source trunk (0-{source_levels}): pick levels it has.')
  unknown = sorted(set(spec.variants) - set(VARIANTS))
  if unknown or not spec.variants:
    raise errors.ConfigError(
        f'transfer.variants: unknown transfer variants '
        f'{unknown or "(none)"}; known: {", ".join(VARIANTS)}.')
  if spec.head_mask not in HEAD_MASKS:
    raise errors.ConfigError(
        f'transfer.head_mask: unknown head_mask {spec.head_mask!r}; known: '
        f'{", ".join(HEAD_MASKS)}.')
  try:
    re.compile(spec.head)
  except re.error as e:
    raise errors.ConfigError(
        f'transfer.head: {spec.head!r} is not a valid regex: '
        f'{e}.') from e


def parse_spec(levels: str, variants: str, head: str,
               head_mask: str) -> TransferSpec:
  """A ``TransferSpec`` from comma-separated text (config fields).

  >>> parse_spec('0, 7,15', 'ticket,random', '^output/', 'dense').levels
  (0, 7, 15)
  """
  try:
    parsed = config_lists.items(levels, int)
  except ValueError as e:
    raise errors.ConfigError(
        f'transfer.levels={levels!r} are not comma-separated '
        'integers (e.g. "0,7,15").') from e
  return TransferSpec(parsed, config_lists.items(variants), head, head_mask)
