"""Pruning strategies as a registry: how IMP turns trained weights into masks.

A strategy is ``fn(params, masks, pruning_config, level) -> new_masks``;
``pruning_config`` is the ``config.pruning`` ConfigDict (fields ``rate``,
``layer_rates``, ...). Register new ones with ``register_strategy``.
"""
from typing import Any, Callable

from lth_jax import registry
from lth_jax.pruning import magnitude

PyTree = Any
Strategy = Callable[[PyTree, PyTree, Any, int], PyTree]
_STRATEGIES: registry.Registry[Strategy] = registry.Registry(
    'pruning strategy')

#: Decorator: registers a pruning strategy under a name.
register_strategy = _STRATEGIES.register
all_strategy_names = _STRATEGIES.names
get_strategy = _STRATEGIES.get


def parse_layer_rates(spec: str, default: float) -> dict[str, float]:
  """``'output/=0.1,conv=0.15'`` -> ``{'output/': 0.1, 'conv': 0.15, '.*': d}``.

  Entries are ``regex=rate``, first match wins; ``default`` applies to every
  other prunable parameter.

  >>> parse_layer_rates('output/=0.1', 0.2)
  {'output/': 0.1, '.*': 0.2}
  """
  rates: dict[str, float] = {}
  for item in filter(None, (s.strip() for s in (spec or '').split(','))):
    pattern, sep, value = item.rpartition('=')
    if not sep or not pattern:
      raise ValueError(
          f"layer rate {item!r} is not of the form 'regex=rate' "
          "(e.g. 'output/=0.1').")
    try:
      rates[pattern] = magnitude.check_rate(float(value),
                                            f'pruning rate for {pattern!r}')
    except ValueError as e:
      if 'outside' in str(e):
        raise
      raise ValueError(f'layer rate {item!r}: {value!r} is not a number.'
                       ) from e
  rates['.*'] = magnitude.check_rate(default)
  return rates


@register_strategy('layerwise')
def layerwise(params: PyTree, masks: PyTree, cfg: Any, level: int) -> PyTree:
  """Each layer loses ``rate`` (or its ``layer_rates`` entry) of its weights."""
  return magnitude.prune_layerwise(
      params, masks, parse_layer_rates(cfg.layer_rates, cfg.rate), level)


@register_strategy('global')
def global_(params: PyTree, masks: PyTree, cfg: Any, level: int) -> PyTree:
  """One magnitude threshold over all prunable weights."""
  return magnitude.prune_global(params, masks, cfg.rate, level)
