"""Durations in steps or epochs: ``'50000it'``, ``'20ep'``, or a plain int."""
import re

from lth_jax import errors

_PATTERN = re.compile(r'^\s*(-?\d+)\s*(it|ep)\s*$')


def parse_duration(value: int | str, steps_per_epoch: int | None = None,
                   what: str = 'duration', allow_zero: bool = False) -> int:
  """Returns a duration in steps.

  Args:
    value: ``'N it'`` (steps), ``'N ep'`` (epochs) or an int (steps).
    steps_per_epoch: needed for epochs.
    what: the config field, for error messages.
    allow_zero: whether 0 is a valid duration.

  >>> parse_duration('2ep', steps_per_epoch=916)
  1832
  >>> parse_duration('500it')
  500
  """
  if isinstance(value, bool):
    raise errors.InputError(f'{what}: {value!r} is not a duration.')
  if isinstance(value, int):
    steps = value
  else:
    match = _PATTERN.match(str(value))
    if not match:
      raise errors.InputError(
          f"{what}: {value!r} is not a duration; write steps as '50000it' or "
          "epochs as '20ep'.")
    count, unit = int(match.group(1)), match.group(2)
    if unit == 'ep':
      if steps_per_epoch is None:
        raise errors.InputError(
            f'{what}: {value!r} is in epochs, but the number of '
            'steps per epoch is not known here.')
      count *= steps_per_epoch
    steps = count
  if steps < 0 or (steps == 0 and not allow_zero):
    need = ("non-negative ('0it' turns it off)" if allow_zero else
            "positive (e.g. '50000it' or '20ep')")
    raise errors.InputError(f'{what} must be {need}, got {value!r}.')
  return steps


def parse_duration_list(value: str, steps_per_epoch: int | None = None,
                        what: str = 'durations') -> list[int]:
  """``'80ep,120ep'`` -> steps, sorted; empty string -> []."""
  items = [s for s in (value or '').split(',') if s.strip()]
  return sorted(parse_duration(s, steps_per_epoch, what) for s in items)
