"""List-valued config fields: one parser for every study.

A list field may be a real list or tuple (ml_collections / absl list
values) or, as older configs and run hashes have it, comma-separated text.
``items`` reads both the same way; the callers keep their own messages.

>>> items('3, 6,,9', int), items([0.5, 0.2], float), items(None)
((3, 6, 9), (0.5, 0.2), ())
"""
from typing import Any, Callable, TypeVar

T = TypeVar('T')


def items(value: Any, cast: Callable[[Any], T] = str) -> tuple[T, ...]:
  """The entries of a list field, each through ``cast`` (empty ones
  skipped, text stripped).

  Raises:
    ValueError: if ``cast`` rejects an entry (callers name the field).
  """
  if value is None:
    return ()
  parts = value if isinstance(value, (list, tuple)) else str(value).split(',')
  stripped = (p.strip() if isinstance(p, str) else p for p in parts)
  return tuple(cast(p) for p in stripped if p != '')
