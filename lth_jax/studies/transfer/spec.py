"""What a ticket transfer trains: its levels, variants and head."""
import re
from typing import NamedTuple

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
  lth_jax.errors.InputError: transfer level 16 is not a level of the ...
  """
  if not spec.levels:
    raise errors.InputError(
        'no transfer levels given: pass e.g. levels=(0, 7, 15).')
  for level in spec.levels:
    if isinstance(level, bool) or not isinstance(level, int) or not (
        0 <= level <= source_levels):
      raise errors.InputError(f'transfer level {level!r} is not a level of the '
                       f'source trunk (0-{source_levels}).')
  unknown = sorted(set(spec.variants) - set(VARIANTS))
  if unknown or not spec.variants:
    raise errors.InputError(f'unknown transfer variants {unknown or "(none)"}; '
                     f'known: {", ".join(VARIANTS)}.')
  if spec.head_mask not in HEAD_MASKS:
    raise errors.InputError(f'unknown head_mask {spec.head_mask!r}; known: '
                     f'{", ".join(HEAD_MASKS)}.')
  try:
    re.compile(spec.head)
  except re.error as e:
    raise errors.InputError(
        f'transfer head {spec.head!r} is not a valid regex: '
        f'{e}.') from e
