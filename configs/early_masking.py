"""The ``masking`` section shared by the early-masking configs.

An early-masking config is ``{'trunk': <a lottery config>, 'masking': ...}``:
``trunk`` names the lottery run whose init, data order and layout are
reused (its run hash must match an existing trunk, or level 0 is trained
once), ``masking`` the mask-timing experiment
(``lth_jax.studies.early_masking``).
"""
from typing import Any, Callable

import ml_collections

from configs import options as options_lib


def masking_defaults() -> ml_collections.ConfigDict:
  """Every field of the ``masking`` section, with its default."""
  m = ml_collections.ConfigDict()
  m.mode = 'oneshot'            # 'oneshot' | 'iterative'
  # Target shares of the prunable weights remaining; each maps to the trunk
  # level with the nearest exact count (7 % -> level 12, 3.6 % -> level 15
  # for LeNet-300-100 at 20 %/10 %).
  m.targets = '0.07,0.036'
  # One-shot timing points in steps: 'doubling' = 0, 25, 50, 100, ... up to
  # T, and T; or a list '0,100,400'. The dense early-stop step is added.
  m.timing_points = 'doubling'
  m.first_point = 25
  m.add_early_stop = True
  # Iterative: each level's mask from iteration t of the previous level:
  # 'fraction' of that level's early-stop step (snapped down to the
  # evaluation grid) or 'absolute' steps.
  m.iterative_timing = 'fraction'
  m.iterative_points = '0.25,0.5'
  # The early-bird criterion (You et al. 2020: window 5, threshold 0.1),
  # on masks every ``early_bird_every`` steps ('0it': every evaluation).
  m.early_bird_window = 5
  m.early_bird_threshold = 0.1
  m.early_bird_every = '0it'
  # A ticket "matches" the full-mask ticket within this accuracy.
  m.match_tolerance = 0.002
  # Fail unless the replayed dense run ends bit-identical to the trunk.
  m.require_exact_replay = True
  return m


#: The ``test`` preset: a few steps, two timing points, one target.
TEST_MASKING = {'timing_points': '0,4', 'add_early_stop': False,
                'targets': '0.5'}


def early_masking_config(trunk: ml_collections.ConfigDict,
                         options: dict[str, str], preset: str = 'paper'
                         ) -> ml_collections.ConfigDict:
  """``{'trunk', 'masking'}`` with the ``mode`` and ``targets`` options."""
  config = ml_collections.ConfigDict()
  config.trunk = trunk
  config.masking = masking_defaults()
  if preset == 'test':
    config.masking.update(TEST_MASKING)
  if 'mode' in options:
    config.masking.mode = options.pop('mode')
  if 'targets' in options:
    config.masking.targets = options.pop('targets').replace(';', ',')
  if options:
    raise ValueError(f'unknown config options {sorted(options)}.')
  config.lock()
  return config


def pop_common(options: dict[str, str]) -> dict[str, str]:
  """Options for the trunk config (replicates, seed) taken from ``options``.
  """
  return {k: options.pop(k) for k in list(options)
          if k in options_lib.COMMON_OPTIONS}


def trunk_and_options(get_trunk_config: Callable[[str], Any],
                      arg: str | None
                      ) -> tuple[ml_collections.ConfigDict, dict[str, str],
                                 str]:
  """Parses ``arg``; builds the trunk with its preset and common options.

  Returns:
    ``(trunk, the remaining options, preset)``.
  """
  options = options_lib.parse_options(arg)
  preset = options.pop('preset', 'paper')
  common = pop_common(options)
  trunk = get_trunk_config(','.join(
      [f'preset={preset}'] + [f'{k}={v}' for k, v in common.items()]))
  return trunk, options, preset


#: The CIFAR-10 configs' default targets (levels of 20 % a level).
CIFAR_TARGETS = '0.2;0.1'


def cifar_config(get_trunk_config: Callable[[str], Any], arg: str | None
                 ) -> ml_collections.ConfigDict:
  """The early-masking config of a CIFAR-10 trunk (Conv-6, VGG-19)."""
  trunk, options, preset = trunk_and_options(get_trunk_config, arg)
  if preset != 'test':
    options.setdefault('targets', CIFAR_TARGETS)
  return early_masking_config(trunk, options, preset)
