"""Execution strategies for the replicate axis of a lottery run.

The states of K replicates (seeds, data orders, mask-timing points) are
stacked along a leading axis. A strategy decides how one training chunk or
evaluation runs over that axis:

* ``serial``: one jitted program per replicate, called one after another;
* ``vmap``: ``jax.vmap`` in one program (one batched kernel per layer);
* ``map``: ``lax.map`` in one program (replicates one after another);
* ``spread``: the programs of ``serial``, dealt round-robin to this host's
  devices and dispatched asynchronously, so that every device works
  through its share at once (for a host CPU split into one device per
  core, see ``split_host_cpu``);
* ``shard``: the replicate axis split over all devices of a
  ``jax.sharding.Mesh`` (and hosts, after ``jax.distributed.initialize()``)
  by ``jax.shard_map``; each device vmaps its own replicates.

All give the same numbers up to floating-point reassociation (``serial``
and ``spread`` run the same programs). ``auto`` picks per backend what
benchmarks/sweep_throughput.py measured (docs/sweeps.md): on GPU and TPU,
``vmap`` on one device and ``shard`` on several; on CPU, where batching
replicates saves little (and vmapped or looped convolutions lose), the
serial programs on all cores at once: ``spread`` when the host CPU is
split into several devices, else ``serial``.
"""
import functools
import math
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from lth_jax import errors

STRATEGIES = ('auto', 'serial', 'vmap', 'map', 'spread', 'shard')
REPLICATE_AXIS = 'replicates'
#: Per-replicate outputs up to this many elements (losses, metrics, steps)
#: are replicated to every device by ``shard``, so every host reads them.
SMALL_OUTPUT = 64

Fn = Callable[[Any, Any], Any]


def check_strategy_name(name: str) -> None:
  if name not in STRATEGIES:
    raise errors.InputError(f'unknown sweep strategy {name!r}; known: '
                     f'{", ".join(STRATEGIES)}.')


def split_host_cpu(count: int | None = None) -> bool:
  """Makes JAX's CPU backend ``count`` devices (default: one per core).

  ``auto`` then spreads replicates over all cores. Call it before JAX runs
  anything: it is a no-op afterwards, and where
  ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` or
  ``jax_num_cpu_devices`` already chose the count. Accelerator backends
  are unaffected.

  Args:
    count: the number of CPU devices; default: the usable cores.

  Returns:
    Whether the split took effect.
  """
  if 'xla_force_host_platform_device_count' in os.environ.get('XLA_FLAGS',
                                                              ''):
    return False
  if jax.config.jax_num_cpu_devices != -1:
    return False
  if count is None:
    count = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else os.cpu_count() or 1
  try:
    jax.config.update('jax_num_cpu_devices', count)
  except RuntimeError:  # JAX has started: too late to split.
    return False
  return True


def resolve_strategy(name: str, num_replicates: int,
                     backend: str | None = None) -> str:
  """The concrete strategy for ``name`` (``auto`` decided per backend).

  >>> resolve_strategy('vmap', 4)
  'vmap'
  >>> resolve_strategy('auto', 1)
  'serial'
  >>> resolve_strategy('auto', 8, backend='gpu') in ('vmap', 'shard')
  True
  """
  check_strategy_name(name)
  if name != 'auto':
    return name
  if num_replicates == 1:
    return 'serial'
  backend = backend or jax.default_backend()
  if backend == 'cpu' and jax.process_count() == 1:
    return 'spread' if jax.local_device_count() > 1 else 'serial'
  return 'shard' if jax.device_count() > 1 else 'vmap'


@jax.jit
def stack(trees: list[Any]) -> Any:
  """Stacks per-replicate pytrees along a new leading axis.

  Jitted: one program per tree structure, not one dispatch (and, on first
  use, one compilation) per leaf, which dominated large models' levels.
  """
  return jax.tree.map(lambda *xs: jnp.stack(xs), *trees)


@functools.partial(jax.jit, static_argnums=1)
def unstack(tree: Any, count: int) -> list[Any]:
  """Splits a stacked pytree into ``count`` per-replicate pytrees."""
  return [jax.tree.map(lambda x, i=i: x[i], tree) for i in range(count)]


def replicate_count(stacked: Any) -> int:
  """The length of the leading (replicate) axis of a stacked pytree."""
  return len(jax.tree.leaves(stacked)[0])


def pad_replicates(stacked: Any, count: int) -> Any:
  """Pads the replicate axis to ``count`` with copies of replicate 0.

  >>> pad_replicates(jnp.arange(3), 4).tolist()
  [0, 1, 2, 0]
  """
  have = replicate_count(stacked)
  if have == count:
    return stacked
  return jax.tree.map(
      lambda x: jnp.concatenate([x] + [x[:1]] * (count - have)), stacked)


def _vmapped(fn: Fn) -> Fn:
  return jax.vmap(fn, in_axes=(0, None))


def _mapped(fn: Fn) -> Fn:
  return lambda stacked, shared: jax.lax.map(lambda x: fn(x, shared),
                                             stacked)


def _put_global(x: Any, sharding: NamedSharding) -> Any:
  """``x`` (the same value on every process) as a global array.

  ``jax.device_put`` only reaches this process's devices; with several
  processes each one hands its own shards over from its copy of ``x``.
  """
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    return jax.jit(lambda a: a, out_shardings=sharding)(x)
  if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
    return jax.random.wrap_key_data(
        _put_global(jax.random.key_data(x), sharding),
        impl=jax.random.key_impl(x))
  host = np.asarray(x)
  return jax.make_array_from_callback(host.shape, sharding,
                                      lambda index: host[index])


def _put(tree: Any, sharding: NamedSharding) -> Any:
  if jax.process_count() == 1:
    return jax.device_put(tree, sharding)
  return jax.tree.map(lambda x: _put_global(x, sharding), tree)


def _on_device(x: Any, device: Any) -> Any:
  """``x`` on ``device``: its copy there if it has one, else a transfer."""
  for shard in getattr(x, 'addressable_shards', ()):
    if shard.device == device:
      return shard.data
  return jax.device_put(x, device)


class Executor:
  """Runs per-replicate functions over a stacked replicate axis.

  Args:
    strategy: a concrete strategy name (see ``resolve_strategy``).
    devices: the devices of ``spread`` (default: this host's) or ``shard``
      (default: all, of all hosts).
  """

  def __init__(self, strategy: str, devices: list[Any] | None = None):
    check_strategy_name(strategy)
    if strategy == 'auto':
      raise errors.InputError("resolve 'auto' with resolve_strategy() first.")
    if strategy == 'spread' and jax.process_count() > 1:
      raise errors.InputError("sweep strategy 'spread' runs on one host; use "
                       "'shard' after jax.distributed.initialize().")
    self.strategy = strategy
    self._cache: dict[Any, Callable[..., Any]] = {}
    self.mesh = None
    if strategy in ('spread', 'shard'):
      default = jax.local_devices() if strategy == 'spread' else (
          jax.devices())
      self.mesh = Mesh(np.asarray(devices or default), (REPLICATE_AXIS,))

  def _sharding(self, spec: PartitionSpec) -> NamedSharding:
    return NamedSharding(self.mesh, spec)

  def place(self, stacked: Any) -> Any:
    """Puts a stacked tree where the strategy wants it.

    ``shard`` splits the replicate axis over the mesh; a count that the
    device count does not divide is replicated instead (and padded inside
    the program), which costs transfers: prefer multiples.
    """
    if self.strategy != 'shard':
      return stacked
    count = replicate_count(stacked)
    spec = (PartitionSpec(REPLICATE_AXIS) if count % self.mesh.size == 0
            else PartitionSpec())
    return _put(stacked, self._sharding(spec))

  def replicated(self, tree: Any) -> Any:
    """Shared inputs (the data set): a copy on every device of the mesh."""
    if self.mesh is None:
      return tree
    return _put(tree, self._sharding(PartitionSpec()))

  def _sharded_program(self, fn: Fn, stacked: Any,
                       shared: Any) -> Callable[..., Any]:
    """``fn`` vmapped over each device's replicates, ``shard_map``-ped."""
    count = replicate_count(stacked)
    padded = -(-count // self.mesh.size) * self.mesh.size
    spec = PartitionSpec(REPLICATE_AXIS)
    # check_vma=False: ``fn`` is any per-replicate function, unaware of
    # the mesh (its scans start from constants, which vma checks reject).
    body = jax.shard_map(_vmapped(fn), mesh=self.mesh,
                         in_specs=(spec, PartitionSpec()), out_specs=spec,
                         check_vma=False)

    def run(stacked, shared):
      out = body(pad_replicates(stacked, padded), shared)
      return jax.tree.map(lambda x: x[:count], out)

    def out_sharding(leaf):
      # Several processes: every output is replicated to all of them, so
      # each can read (and process 0 save) every replicate's state.
      split = (jax.process_count() == 1 and padded == count
               and math.prod(leaf.shape[1:]) > SMALL_OUTPUT)
      return self._sharding(spec if split else PartitionSpec())

    shapes = jax.eval_shape(run, stacked, shared)
    return jax.jit(run, out_shardings=jax.tree.map(out_sharding, shapes))

  def program(self, key: Any, fn: Fn, stacked: Any,
              shared: Any) -> Callable[..., Any]:
    """The jitted program the strategy runs (per replicate for ``serial``
    and ``spread``), built once per ``key`` (and replicate count for
    ``shard``, whose output shardings depend on it)."""
    if self.strategy == 'shard':
      key = (key, replicate_count(stacked))
    if key not in self._cache:
      if self.strategy == 'shard':
        self._cache[key] = self._sharded_program(fn, stacked, shared)
      elif self.strategy == 'vmap':
        self._cache[key] = jax.jit(_vmapped(fn))
      elif self.strategy == 'map':
        self._cache[key] = jax.jit(_mapped(fn))
      else:
        self._cache[key] = jax.jit(fn)
    return self._cache[key]

  def __call__(self, key: Any, fn: Fn, stacked: Any, shared: Any) -> Any:
    """``fn(replicate_tree, shared)`` for every replicate; outputs stacked.

    ``key`` identifies ``fn`` (with its static arguments) for caching.
    """
    program = self.program(key, fn, stacked, shared)
    if self.strategy not in ('serial', 'spread'):
      return program(stacked, shared)
    trees = unstack(stacked, replicate_count(stacked))
    if self.strategy == 'serial':
      return stack([program(tree, shared) for tree in trees])
    # Dispatch is asynchronous: all devices work through their share at
    # once; results come back to the first device, where they are stacked.
    devices = list(self.mesh.devices.flat)
    outs = []
    for i, tree in enumerate(trees):
      device = devices[i % len(devices)]
      local = jax.tree.map(lambda x, d=device: _on_device(x, d), shared)
      out = program(jax.device_put(tree, device), local)
      outs.append(jax.device_put(out, devices[0]))
    return stack(outs)
