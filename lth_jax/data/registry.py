"""A name registry of data set loaders.

A loader takes the ``config.data`` ConfigDict and returns a ``Dataset``.
"""
from typing import Any, Callable

from lth_jax.data import dataset

Loader = Callable[[Any], dataset.Dataset]
_LOADERS: dict[str, Loader] = {}


def register_dataset(name: str):
  """Decorator: registers a loader under ``name``."""
  def wrap(fn: Loader) -> Loader:
    if name in _LOADERS:
      raise ValueError(f'data set {name!r} is already registered.')
    _LOADERS[name] = fn
    return fn
  return wrap


def all_dataset_names() -> list[str]:
  return sorted(_LOADERS)


def check_dataset_name(name: str) -> None:
  if name not in _LOADERS:
    raise ValueError(f'unknown data set {name!r}; known: '
                     f'{", ".join(all_dataset_names())}.')


def get_dataset(data_config: Any) -> dataset.Dataset:
  """Loads the data set named ``data_config.name``."""
  check_dataset_name(data_config.name)
  return _LOADERS[data_config.name](data_config)
