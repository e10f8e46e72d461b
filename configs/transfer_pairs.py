"""The shared shape of a ticket-transfer config file (``configs/transfer_*``).

A transfer config file names pairs ``pair -> (source side, target side,
head regex)`` and a function giving a side's lottery config; ``pair_config``
parses the options every such file takes: ``pair=...`` (required),
``side=source|target`` (that side's lottery config, for its trunk), no
``side`` (the transfer config, for ``experiments.transfer``),
``preset=...``, ``replicates=N`` (default 3, the fewest a verdict
uses), ``at=L+L+...`` (the levels
transferred, in training order) and ``seed=S``.
"""
from typing import Callable

import ml_collections

from configs import options as options_lib

#: (side, preset, replicates, seed) -> that side's lottery config.
SideConfig = Callable[[str, str, int, int], ml_collections.ConfigDict]


def pair_config(arg: str | None, pairs: dict[str, tuple[str, str, str]],
                side_config: SideConfig, presets: tuple[str, ...],
                default_levels: dict[str, str]
                ) -> ml_collections.ConfigDict:
  """A side's lottery config, or the transfer config of a pair.

  Args:
    arg: the ``get_config`` option string.
    pairs: pair -> (source side, target side, head regex).
    side_config: builds a side's lottery config.
    presets: the presets accepted (the first is the default).
    default_levels: preset -> the default ``at=`` (``+``-separated).
  """
  options = options_lib.parse_options(arg)
  pair = options.pop('pair', None)
  if pair not in pairs:
    raise ValueError(f'config option pair={pair!r} is unknown; known: '
                     f'{", ".join(pairs)}.')
  side = options.pop('side', None)
  preset = options.pop('preset', presets[0])
  if preset not in presets:
    raise options_lib.unknown_preset(preset, presets)
  replicates = int(options.pop('replicates', 3))
  seed = int(options.pop('seed', 0))
  levels = options.pop('at', default_levels[preset])
  if options:
    raise ValueError(f'unknown config options {sorted(options)}; known: '
                     'pair, side, preset, replicates, at, seed.')
  source, target, head = pairs[pair]
  if side in ('source', 'target'):
    return side_config(source if side == 'source' else target, preset,
                       replicates, seed)
  if side is not None:
    raise ValueError(f"config option side={side!r}: use 'source' or "
                     "'target' (or no side for the transfer config).")
  config = ml_collections.ConfigDict()
  config.pair = pair
  _check_levels(levels, side_config(source, preset, replicates, seed))
  config.source = side_config(source, preset, replicates, seed)
  config.target = side_config(target, preset, replicates, seed)
  config.transfer = ml_collections.ConfigDict()
  config.transfer.levels = levels.replace('+', ',')
  config.transfer.variants = 'ticket,reinit,random'
  config.transfer.head = head
  config.transfer.head_mask = 'dense'
  config.lock()
  return config


def _check_levels(levels: str, source: ml_collections.ConfigDict) -> None:
  """Every level of ``at=`` exists in the source's IMP run."""
  last = source.pruning.levels
  for level in levels.split('+'):
    if not level.isdigit() or int(level) > last:
      raise ValueError(
          f'config option at={levels!r}: level {level!r} is not a level of '
          f'the source run, whose IMP levels are 0..{last}; pick levels in '
          f'that range (for example at=0+{last}).')
