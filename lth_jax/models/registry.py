"""A name registry of model constructors.

A constructor takes ``num_classes`` and model-specific keyword arguments and
returns a ``flax.linen.Module`` whose ``__call__(x, train: bool)`` maps a
batch of inputs to logits.
"""
from typing import Callable

import flax.linen as nn

from lth_jax import registry

_MODELS: registry.Registry[Callable[..., nn.Module]] = registry.Registry(
    'model')

#: Decorator: registers a model constructor under a name.
register_model = _MODELS.register
all_model_names = _MODELS.names


def get_model(name: str, **kwargs) -> nn.Module:
  """Builds the model registered as ``name``.

  >>> get_model('lenet300_100', num_classes=10).hidden
  (300, 100)
  """
  return _MODELS.get(name)(**kwargs)
