"""List-valued config fields: one parser for every study.

A list field may be a real list or tuple (ml_collections / absl list
values) or, as older configs and run hashes have it, comma-separated text.
``items`` reads both the same way; ``pairs`` reads ``key=value`` lists
(config options, per-layer rates) from text, a dict or a list of pairs. The
callers keep their own messages.

>>> items('3, 6,,9', int), items([0.5, 0.2], float), items(None)
((3, 6, 9), (0.5, 0.2), ())
>>> pairs('preset=cpu, replicates=3')
(('preset', 'cpu'), ('replicates', '3'))
>>> pairs('a=b=0.1', last=True), pairs({'conv': 0.2})
((('a=b', '0.1'),), (('conv', 0.2),))
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


def pairs(value: Any, last: bool = False) -> tuple[tuple[Any, Any], ...]:
  """The ``(key, value)`` entries of a ``key=value`` list field, in order.

  Text is split at commas, each entry at its first ``=`` (``last``: at its
  last one, for keys that may hold ``=``, such as regexes); keys and
  values are stripped text. A dict or a list of pairs is taken as it is.

  Raises:
    ValueError: naming an entry that is not ``key=value``.
  """
  if isinstance(value, dict):
    return tuple(value.items())
  if isinstance(value, (list, tuple)) and all(
      isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
    return tuple(tuple(p) for p in value)
  out = []
  for item in items(value):
    key, sep, val = (item.rpartition('=') if last else item.partition('='))
    if not sep or not key.strip():
      raise ValueError(f'{item!r} is not key=value.')
    out.append((key.strip(), val.strip()))
  return tuple(out)
