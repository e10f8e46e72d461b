"""IMP pruning strategies: adapters from ``config.pruning`` to pure pruning.

A strategy is ``fn(params, masks, pruning_config, level) -> new_masks``;
``pruning_config`` is the ``config.pruning`` ConfigDict. Each adapter reads
its fields and calls a pure function of ``lth_jax.pruning`` with explicit
arguments (the pure core never sees a config). Register new ones with
``register_strategy``.

* ``layerwise``: ``rate`` and ``layer_rates`` (``'regex=rate,...'``);
* ``global``: one magnitude threshold at ``rate``;
* ``nm``: N:M sparsity from ``nm_n`` and ``nm_m`` (every level enforces it;
  ``rate`` and ``level`` are not used);
* ``channel``: whole filters by ``channel_norm`` (``'l1'``/``'l2'``) at
  ``rate`` (and ``layer_rates``) per level.
"""
from typing import Any, Callable

from lth_jax import config_lists
from lth_jax import errors
from lth_jax import pruning
from lth_jax import registry

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
  try:
    entries = config_lists.pairs(spec or None, last=True)
  except ValueError as e:
    raise errors.InputError(
        f"layer rates {spec!r}: {e} Write 'regex=rate' entries "
        "(e.g. 'output/=0.1').") from e
  for pattern, value in entries:
    item = f'{pattern}={value}'
    try:
      rates[pattern] = pruning.check_rate(float(value),
                                          f'pruning rate for {pattern!r}')
    except ValueError as e:
      if 'outside' in str(e):
        raise
      raise errors.InputError(f'layer rate {item!r}: {value!r} is not a number.'
                       ) from e
  rates['.*'] = pruning.check_rate(default)
  return rates


@register_strategy('layerwise')
def layerwise(params: PyTree, masks: PyTree, cfg: Any, level: int) -> PyTree:
  """Each layer loses ``rate`` (or its ``layer_rates`` entry) of its weights."""
  return pruning.prune_layerwise(
      params, masks, parse_layer_rates(cfg.layer_rates, cfg.rate), level)


@register_strategy('global')
def global_(params: PyTree, masks: PyTree, cfg: Any, level: int) -> PyTree:
  """One magnitude threshold over all prunable weights."""
  return pruning.prune_global(params, masks, cfg.rate, level)


@register_strategy('nm')
def nm(params: PyTree, masks: PyTree, cfg: Any, level: int) -> PyTree:
  """N:M sparsity from ``cfg.nm_n`` and ``cfg.nm_m`` (default 2:4)."""
  del level
  return pruning.prune_n_m(params, masks, int(cfg.get('nm_n', 2)),
                           int(cfg.get('nm_m', 4)))


@register_strategy('channel')
def channel(params: PyTree, masks: PyTree, cfg: Any, level: int) -> PyTree:
  """Filter pruning by ``cfg.channel_norm`` at ``cfg.rate`` per level."""
  rates = parse_layer_rates(cfg.get('layer_rates', ''), cfg.rate)
  return pruning.prune_channels(params, masks, rates,
                                norm=cfg.get('channel_norm', 'l2'),
                                level=level)
