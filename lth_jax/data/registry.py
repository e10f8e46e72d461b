"""A name registry of data set loaders.

A loader takes the ``config.data`` ConfigDict and returns a ``Dataset``.
"""
from typing import Any, Callable

from lth_jax import registry
from lth_jax.data import dataset

Loader = Callable[[Any], dataset.Dataset]
_LOADERS: registry.Registry[Loader] = registry.Registry('data set')

#: Decorator: registers a loader under a name.
register_dataset = _LOADERS.register
all_dataset_names = _LOADERS.names
check_dataset_name = _LOADERS.check


def get_dataset(data_config: Any) -> dataset.Dataset:
  """Loads the data set named ``data_config.name``."""
  return _LOADERS.get(data_config.name)(data_config)
