"""Execution strategies for the replicate axis of a lottery run.

The states of K replicates (seeds, data orders, mask-timing points) are
stacked along a leading axis. A strategy decides how one training chunk or
evaluation runs over that axis:

* ``serial``: one jitted program per replicate, called one after another;
* ``vmap``: ``jax.vmap`` in one program (one batched kernel per layer);
* ``map``: ``lax.map`` in one program (replicates one after another);
* ``shard``: ``vmap`` with the replicate axis sharded over all devices of a
  ``jax.sharding.Mesh`` (and hosts, after ``jax.distributed.initialize()``).

All give the same numbers up to floating-point reassociation.
"""
import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec

STRATEGIES = ('auto', 'serial', 'vmap', 'map', 'shard')
REPLICATE_AXIS = 'replicates'


def check_strategy_name(name: str) -> None:
  if name not in STRATEGIES:
    raise ValueError(f'unknown sweep strategy {name!r}; known: '
                     f'{", ".join(STRATEGIES)}.')


def resolve_strategy(name: str, num_replicates: int,
                     backend: str | None = None) -> str:
  """The concrete strategy for ``name`` (``auto`` decided per backend).

  On CPU, measurement (benchmarks/sweep_throughput.py) shows batching
  replicates into one program does not beat serial execution, so ``auto``
  runs them serially; on GPU/TPU it vmaps, sharding over several devices.
  """
  check_strategy_name(name)
  if name != 'auto':
    return name
  backend = backend or jax.default_backend()
  if num_replicates == 1 or backend == 'cpu':
    return 'serial'
  return 'shard' if jax.device_count() > 1 else 'vmap'


def stack(trees: list[Any]) -> Any:
  """Stacks per-replicate pytrees along a new leading axis."""
  return jax.tree.map(lambda *xs: jnp.stack(xs), *trees)


def unstack(tree: Any, count: int) -> list[Any]:
  """Splits a stacked pytree into ``count`` per-replicate pytrees."""
  return [jax.tree.map(lambda x, i=i: x[i], tree) for i in range(count)]


class Executor:
  """Runs per-replicate functions over a stacked replicate axis.

  Args:
    strategy: a concrete strategy name (see ``resolve_strategy``).
  """

  def __init__(self, strategy: str):
    check_strategy_name(strategy)
    if strategy == 'auto':
      raise ValueError("resolve 'auto' with resolve_strategy() first.")
    self.strategy = strategy
    self._cache: dict[Any, Callable[..., Any]] = {}
    self.mesh = None
    if strategy == 'shard':
      self.mesh = Mesh(jax.devices(), (REPLICATE_AXIS,))

  def place(self, stacked: Any) -> Any:
    """Puts a stacked tree where the strategy wants it (sharded or not)."""
    if self.mesh is None:
      return stacked
    count = len(jax.tree.leaves(stacked)[0])
    devices = self.mesh.size
    if count % devices:
      raise ValueError(
          f"sweep strategy 'shard' needs the replicate count ({count}) to be "
          f'a multiple of the device count ({devices}); change replicates, '
          "or use sweep.strategy='vmap'.")
    sharding = NamedSharding(self.mesh, PartitionSpec(REPLICATE_AXIS))
    return jax.device_put(stacked, sharding)

  def replicated(self, tree: Any) -> Any:
    """Shared inputs (the data set): replicated over the mesh when sharding."""
    if self.mesh is None:
      return tree
    return jax.device_put(tree, NamedSharding(self.mesh, PartitionSpec()))

  def _compiled(self, key: Any, fn: Callable[..., Any]) -> Callable[..., Any]:
    if key not in self._cache:
      if self.strategy in ('vmap', 'shard'):
        mapped = jax.vmap(fn, in_axes=(0, None))
      elif self.strategy == 'map':
        mapped = lambda s, shared: jax.lax.map(lambda x: fn(x, shared), s)
      else:
        mapped = fn
      self._cache[key] = jax.jit(mapped)
    return self._cache[key]

  def __call__(self, key: Any, fn: Callable[[Any, Any], Any], stacked: Any,
               shared: Any) -> Any:
    """``fn(replicate_tree, shared)`` for every replicate; outputs stacked.

    ``key`` identifies ``fn`` (with its static arguments) for caching.
    """
    compiled = self._compiled(key, fn)
    if self.strategy != 'serial':
      return compiled(stacked, shared)
    count = len(jax.tree.leaves(stacked)[0])
    outs = [compiled(tree, shared) for tree in unstack(stacked, count)]
    return stack(outs)


def bind(fn: Callable[..., Any], **static: Any) -> Callable[[Any, Any], Any]:
  """``fn`` with static keyword arguments bound, as ``(tree, shared)``."""
  return functools.partial(fn, **static)
