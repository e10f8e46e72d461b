"""A name registry of model constructors.

A constructor takes ``num_classes`` and model-specific keyword arguments and
returns a ``flax.linen.Module`` whose ``__call__(x, train: bool)`` maps a
batch of inputs to logits.
"""
from typing import Callable

import flax.linen as nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str):
  """Decorator: registers a model constructor under ``name``."""
  def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    if name in _MODELS:
      raise ValueError(f'model {name!r} is already registered.')
    _MODELS[name] = fn
    return fn
  return wrap


def all_model_names() -> list[str]:
  """The registered model names, sorted."""
  return sorted(_MODELS)


def get_model(name: str, **kwargs) -> nn.Module:
  """Builds the model registered as ``name``.

  >>> get_model('lenet300_100', num_classes=10).hidden
  (300, 100)
  """
  if name not in _MODELS:
    raise ValueError(f'unknown model {name!r}; known: '
                     f'{", ".join(all_model_names())}.')
  return _MODELS[name](**kwargs)
