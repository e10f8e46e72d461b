r"""Prune models defined outside lth-jax with its pure pruning functions.

  python -m examples.prune_external_model   # from the repository root

Four kinds of "your model", each pruned by global magnitude (20 % at level
1), masked, and run again: a plain dict pytree, a Flax linen module, an
Equinox module's array leaves (a dataclass pytree where Equinox is not
installed), and a Flax NNX module split into a ``State``. The linen model
also gets 2:4 and channel masks. See docs/pruning_your_model.md.
"""
import dataclasses
from typing import Any

import flax.linen as nn
from flax import nnx
import jax
import jax.numpy as jnp

import lth_jax.pruning as lth

RATE = 0.2


def prune_and_apply(params: Any, prunable: str = lth.DEFAULT_PRUNABLE
                    ) -> tuple[Any, Any]:
  """One IMP step on any params pytree: masks, then the masked params."""
  masks = lth.ones_like(params, prunable)   # bool leaves, None elsewhere
  masks = lth.prune_global(params, masks, RATE, level=1)
  return masks, lth.apply_masks(params, masks)


def plain_dict() -> dict[str, Any]:
  """A hand-written MLP: ``{'layer': {'w': ..., 'b': ...}}``."""
  k1, k2 = jax.random.split(jax.random.key(0))
  params = {'hidden': {'w': jax.random.normal(k1, (8, 16)),
                       'b': jnp.zeros(16)},
            'out': {'w': jax.random.normal(k2, (16, 4)), 'b': jnp.zeros(4)}}

  def forward(p, x):
    return jax.nn.relu(x @ p['hidden']['w'] + p['hidden']['b']) @ (
        p['out']['w']) + p['out']['b']

  masks, pruned = prune_and_apply(params)   # 'w' matches DEFAULT_PRUNABLE
  return {'params': params, 'masks': masks,
          'output': forward(pruned, jnp.ones((2, 8)))}


class SmallCNN(nn.Module):
  """Stands in for a linen model from another code base."""

  @nn.compact
  def __call__(self, x):
    x = nn.relu(nn.Conv(8, (3, 3))(x))
    x = nn.relu(nn.Conv(8, (3, 3))(x)).reshape((x.shape[0], -1))
    return nn.Dense(4)(nn.relu(nn.Dense(16)(x)))


def flax_linen() -> dict[str, Any]:
  """A linen module: prune ``variables['params']``; structured masks too."""
  model = SmallCNN()
  x = jnp.ones((2, 6, 6, 1))
  params = jax.jit(model.init)(jax.random.key(1), x)['params']
  masks, pruned = prune_and_apply(params)
  # 2:4 along the input axis of the Dense kernels only (a selector regex),
  # and whole conv filters by L1 norm.
  dense = lth.ones_like(params, r'Dense_\d+/kernel$')
  two_four = lth.prune_n_m(params, dense, 2, 4)
  conv = lth.ones_like(params, r'Conv_\d+/kernel$')
  filters = lth.prune_channels(params, conv, 0.25, norm='l1', level=1)
  return {'params': params, 'masks': masks,
          'output': model.apply({'params': pruned}, x),
          'two_four': two_four, 'filters': filters}


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class Linear:
  weight: jax.Array  # [out, in], PyTorch/Equinox layout.
  bias: jax.Array


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class MLP:
  layers: list[Linear]

  def __call__(self, x):
    for i, layer in enumerate(self.layers):
      x = x @ layer.weight.T + layer.bias
      x = jax.nn.relu(x) if i < len(self.layers) - 1 else x
    return x


def equinox_or_dataclass() -> dict[str, Any]:
  """An Equinox MLP's array leaves, or the same as a dataclass pytree."""
  x = jnp.ones((2, 8))
  try:
    import equinox as eqx  # pylint: disable=import-outside-toplevel
  except ImportError:
    eqx = None
  if eqx is not None:
    model = eqx.nn.MLP(8, 4, 16, 2, key=jax.random.key(2))
    params, static = eqx.partition(model, eqx.is_array)
    masks, pruned = prune_and_apply(params, r'weight$')
    return {'params': params, 'masks': masks,
            'output': jax.vmap(eqx.combine(pruned, static))(x)}
  keys = jax.random.split(jax.random.key(2), 3)
  sizes = [(16, 8), (16, 16), (4, 16)]
  model = MLP([Linear(jax.random.normal(k, s) / s[1] ** 0.5, jnp.zeros(s[0]))
               for k, s in zip(keys, sizes)])
  # Paths look like 'layers/0/weight'; the default selector matches them.
  masks, pruned = prune_and_apply(model)
  return {'params': model, 'masks': masks, 'output': pruned(x)}


class NnxMLP(nnx.Module):
  """An NNX module from another code base."""

  def __init__(self, rngs: nnx.Rngs):
    self.hidden = nnx.Linear(8, 16, rngs=rngs)
    self.out = nnx.Linear(16, 4, rngs=rngs)

  def __call__(self, x):
    return self.out(jax.nn.relu(self.hidden(x)))


def flax_nnx() -> dict[str, Any]:
  """NNX: split into (graphdef, State), prune the State, merge back."""
  graphdef, state = nnx.split(NnxMLP(nnx.Rngs(3)))
  # Paths look like 'hidden/kernel/value'.
  masks, pruned = prune_and_apply(state)
  model = nnx.merge(graphdef, pruned)
  return {'params': state, 'masks': masks, 'output': model(jnp.ones((2, 8)))}


EXAMPLES = {'plain dict': plain_dict, 'flax linen': flax_linen,
            'equinox / dataclass': equinox_or_dataclass, 'flax nnx': flax_nnx}


def main() -> None:
  for name, example in EXAMPLES.items():
    result = example()
    report = lth.sparsity_report(result['masks'])
    print(f'{name:20s} {len(report["layers"])} pruned leaves '
          f'{report["remaining"]:5d}/{report["size"]:5d} weights kept, '
          f'output {tuple(result["output"].shape)}')


if __name__ == '__main__':
  main()
