"""A name registry: what every pluggable family (models, data sets,
pruning strategies, controls, augmentations) is looked up through."""
from typing import Callable, Generic, TypeVar

from lth_jax import errors

T = TypeVar('T')


class Registry(Generic[T]):
  """Maps names to objects; errors list the known names.

  >>> colours = Registry('colour')
  >>> _ = colours.register('red')(1)
  >>> colours.get('red'), colours.names()
  (1, ['red'])
  >>> colours.get('bleu')
  Traceback (most recent call last):
  ...
  lth_jax.errors.ConfigError: unknown colour 'bleu'; known: red.
  """

  def __init__(self, kind: str, hint: str = ''):
    self.kind = kind
    self.hint = hint  # appended to unknown-name errors
    self._entries: dict[str, T] = {}

  def register(self, name: str) -> Callable[[T], T]:
    """Decorator: registers its argument under ``name``."""
    def wrap(entry: T) -> T:
      if name in self._entries:
        raise ValueError(f'{self.kind} {name!r} is already registered.')
      self._entries[name] = entry
      return entry
    return wrap

  def names(self) -> list[str]:
    """The registered names, sorted."""
    return sorted(self._entries)

  def check(self, name: str) -> None:
    """Raises ``ValueError`` listing the known names if ``name`` is not one."""
    if name not in self._entries:
      raise errors.ConfigError(
          f'unknown {self.kind} {name!r}; known: {", ".join(self.names())}.'
          + (f' {self.hint}' if self.hint else ''))

  def get(self, name: str) -> T:
    self.check(name)
    return self._entries[name]
