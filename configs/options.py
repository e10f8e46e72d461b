"""Options of a config's ``get_config(arg)`` string, shared by all configs.

``--config=configs/conv4_cifar10.py:preset=cpu,replicates=3`` passes
``'preset=cpu,replicates=3'`` to ``get_config``; these helpers parse it and
apply the options every config accepts.
"""
from typing import Any

import ml_collections

from lth_jax import config_lists

#: Options every config accepts: option -> config field (an int).
COMMON_OPTIONS = {'replicates': 'replicates', 'seed': 'seed',
                  'levels': 'pruning.levels'}


def parse_options(arg: str | None) -> dict[str, str]:
  """``'preset=cpu,replicates=3'`` -> ``{'preset': 'cpu', ...}``.

  >>> parse_options('preset=cpu, replicates=3')
  {'preset': 'cpu', 'replicates': '3'}
  """
  try:
    return dict(config_lists.pairs(arg or None))
  except ValueError as e:
    raise ValueError(f'config option {e}') from e


def apply_common_options(config: ml_collections.ConfigDict,
                         options: dict[str, str]) -> None:
  """Applies ``replicates``, ``levels`` and ``seed``; rejects anything else.

  ``options`` must hold only what the config did not consume itself (pop
  ``preset`` first).
  """
  for key, field in COMMON_OPTIONS.items():
    if key in options:
      node, _, leaf = field.rpartition('.')
      target = config.get(node) if node else config
      value = options.pop(key)
      try:
        target[leaf] = int(value)
      except ValueError as e:
        raise ValueError(f'config option {key}={value!r} is not an integer.'
                         ) from e
  if options:
    raise ValueError(f'unknown config options {sorted(options)}; known: '
                     f'preset, {", ".join(COMMON_OPTIONS)}.')


def unknown_preset(preset: str, known: Any) -> ValueError:
  """The error for a preset a config does not define."""
  return ValueError(f'unknown preset {preset!r}; known: '
                    f'{", ".join(repr(k) for k in known)}.')
