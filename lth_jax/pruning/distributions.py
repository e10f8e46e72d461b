"""Per-layer sparsity distributions for a global target density.

Given the prunable leaves of a network and a global density ``d`` (the
fraction of prunable weights kept), a distribution says how many weights
each layer keeps:

* ``uniform``: every layer keeps the fraction ``d``;
* ``er`` (Erdős–Rényi, Mocanu et al. 2018): a layer's density is
  proportional to ``(n_in + n_out) / (n_in * n_out)``, its two last
  dimensions (a conv kernel's spatial dimensions are ignored);
* ``erk`` (Erdős–Rényi-Kernel, Evci et al. 2020): proportional to
  ``sum(shape) / prod(shape)``, spatial dimensions included.

For ``er``/``erk`` the common factor ``eps`` is chosen so that the layers
keep ``d`` of all weights; a layer whose density ``eps * raw`` would exceed
1 is kept dense and ``eps`` is solved again over the others, until none
exceeds 1 (Evci et al.'s ``sparse_utils``).

Counts are exact: the real counts ``density_l * n_l`` are rounded down and
the remaining weights go, one each, to the layers with the largest
fractional parts (ties to the earlier layer), so the counts sum to exactly
``round(d * N)``.
"""
import math
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import errors
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import selection

PyTree = Any
DISTRIBUTIONS = ('uniform', 'er', 'erk')


def raw_density(shape: Sequence[int], distribution: str) -> float:
  """A layer's unnormalised density under ``distribution``.

  >>> raw_density((784, 300), 'erk'), raw_density((3, 3, 4, 8), 'er')
  (0.004608843537414966, 0.375)
  """
  shape = tuple(int(d) for d in shape)
  if distribution == 'uniform':
    return 1.0
  if len(shape) < 2:
    raise errors.InputError(f'the {distribution} distribution needs kernels of '
                     f'rank >= 2, got shape {shape}; mark 1-D parameters '
                     'unprunable (None masks).')
  if distribution == 'er':
    n_in, n_out = shape[-2:]
    return (n_in + n_out) / (n_in * n_out)
  if distribution == 'erk':
    return sum(shape) / math.prod(shape)
  raise errors.InputError(
      f'unknown sparsity distribution {distribution!r}; use '
      f'one of {", ".join(DISTRIBUTIONS)}.')


def layer_densities(shapes: Sequence[Sequence[int]], density: float,
                    distribution: str) -> list[float]:
  """Per-layer densities keeping ``density`` of all weights.

  Args:
    shapes: the shape of each prunable layer.
    density: the global fraction of weights kept, in (0, 1].
    distribution: ``'uniform'``, ``'er'`` or ``'erk'``.

  Returns:
    One density in (0, 1] per layer; layers at 1 are dense.

  >>> [round(x, 4) for x in layer_densities([(4, 4), (100, 100)], 0.1,
  ...                                       'erk')]
  [1.0, 0.0986]
  """
  density = float(density)
  if not 0.0 < density <= 1.0:
    raise errors.InputError(f'density {density} is outside (0, 1]: it is the '
                     'fraction of the prunable weights kept, e.g. 0.1.')
  sizes = [math.prod(int(d) for d in s) for s in shapes]
  raw = [raw_density(s, distribution) for s in shapes]
  target = density * sum(sizes)
  dense: set[int] = set()
  while True:
    rest = [i for i in range(len(sizes)) if i not in dense]
    budget = target - sum(sizes[i] for i in dense)
    weight = sum(raw[i] * sizes[i] for i in rest)
    eps = budget / weight if weight else 0.0
    over = {i for i in rest if eps * raw[i] > 1.0}
    if not over:
      break
    dense |= over
  return [1.0 if i in dense else eps * raw[i] for i in range(len(sizes))]


def exact_counts(sizes: Sequence[int], densities: Sequence[float],
                 total: int) -> list[int]:
  """Integer counts near ``densities * sizes`` that sum to ``total``.

  Largest remainder: floors first, then one more weight to the layers with
  the largest fractional parts (ties to the earlier layer), never above a
  layer's size.

  >>> exact_counts([10, 10, 10], [0.25, 0.25, 0.25], 8)
  [3, 3, 2]
  """
  if not 0 <= total <= sum(sizes):
    raise errors.InputError(f'cannot keep {total} of {sum(sizes)} weights.')
  real = [min(d * n, n) for d, n in zip(densities, sizes)]
  counts = [int(math.floor(r)) for r in real]
  order = sorted(range(len(sizes)), key=lambda i: (-(real[i] - counts[i]),
                                                   i))
  short = total - sum(counts)
  while short > 0:
    moved = False
    for i in order:
      if short and counts[i] < sizes[i]:
        counts[i] += 1
        short -= 1
        moved = True
    if not moved:
      break
  while short < 0:  # Only from float error in ``real``: take back last.
    for i in reversed(order):
      if short and counts[i] > 0:
        counts[i] -= 1
        short += 1
  return counts


def layer_counts(masks: PyTree, density: float, distribution: str) -> PyTree:
  """Weights each prunable leaf keeps: a tree of ints (None: unprunable).

  Counts are against the dense size of each leaf and sum to exactly
  ``round(density * N)`` over the ``N`` prunable weights.

  >>> m = {'a': jnp.ones((4, 4), bool), 'b': jnp.ones((100, 100), bool),
  ...      'bias': None}
  >>> layer_counts(m, 0.1, 'erk')
  {'a': 16, 'b': 986, 'bias': None}
  """
  leaves, treedef = jax.tree.flatten(masks, is_leaf=masks_lib.is_none)
  idx = [i for i, m in enumerate(leaves) if m is not None]
  shapes = [np.shape(leaves[i]) for i in idx]
  sizes = [math.prod(s) for s in shapes]
  densities = layer_densities(shapes, density, distribution)
  counts = exact_counts(sizes, densities, int(round(density * sum(sizes))))
  out: list[Any] = [None] * len(leaves)
  for i, c in zip(idx, counts):
    out[i] = c
  return jax.tree.unflatten(treedef, out)


def keep_counts(scores: PyTree, masks: PyTree, counts: PyTree) -> PyTree:
  """Per leaf, the top ``counts`` scores among ``masks``'s True entries.

  >>> keep_counts({'w': jnp.array([1., 3., 2.])}, {'w': jnp.ones(3, bool)},
  ...             {'w': 2})['w']
  Array([False,  True,  True], dtype=bool)
  """
  return selection.top_k_per_leaf(scores, masks, counts)


def random_masks(key: jax.Array, masks: PyTree, density: float,
                 distribution: str = 'erk') -> PyTree:
  """A random mask keeping ``density`` of the weights of ``masks``'s
  prunable leaves, spread over the layers by ``distribution``.

  >>> m = random_masks(jax.random.key(0), {'w': jnp.ones((8, 8), bool)},
  ...                  0.25)
  >>> int(m['w'].sum())
  16
  """
  leaves, treedef = jax.tree.flatten(masks, is_leaf=masks_lib.is_none)
  keys = iter(jax.random.split(key, len(leaves)))
  noise = jax.tree.unflatten(treedef, [
      None if m is None else jax.random.uniform(next(keys), np.shape(m))
      for m in leaves])
  dense = jax.tree.map(
      lambda m: None if m is None else jnp.ones(np.shape(m), jnp.bool_),
      masks, is_leaf=masks_lib.is_none)
  return keep_counts(noise, dense, layer_counts(masks, density,
                                                distribution))
