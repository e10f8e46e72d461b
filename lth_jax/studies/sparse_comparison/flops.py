"""Training cost in FLOPs, counted as if sparse layers cost their density.

A layer's forward pass on one example costs ``2 * positions * size *
density`` FLOPs (``positions``: output positions of a conv, 1 for a dense
layer); the backward pass twice that, so a training step on ``B`` examples
costs ``3 * B * f`` with ``f`` the network's forward FLOPs (Evci et al.
2020's accounting; biases, activations and the loss are ignored). RigL's
update steps cost ``B * (2 f_S + f_D)``: the dense gradient with respect
to the weights. One dense training run of the trunk (``3 * B * f_D * T``)
is the unit of ``dense_runs``.
"""
import math
from typing import Any, Sequence

import numpy as np

from lth_jax.pruning import masks as masks_lib

PyTree = Any


def forward_flops(positions: dict[str, int], masks: PyTree) -> float:
  """Forward FLOPs per example of the network under ``masks``.

  Args:
    positions: ``{kernel path: output positions per example}``.
    masks: the masks (``None`` leaves are not counted).

  >>> forward_flops({'a/kernel': 1}, {'a': {'kernel': np.ones((3, 2), bool),
  ...                                       'bias': None}})
  12.0
  """
  total = 0.0
  for path, m in zip(masks_lib.prunable_paths(masks),
                     masks_lib.mask_leaves(masks)):
    total += 2.0 * positions[path] * float(np.sum(np.asarray(m)))
  return total


def train_flops(forward: float, batch_size: int, steps: int) -> float:
  """``3 * batch_size * forward * steps``."""
  return 3.0 * batch_size * forward * steps


def rigl_flops(sparse: float, dense: float, batch_size: int, steps: int,
               update_steps: int) -> float:
  """RigL: sparse steps plus ``2 f_S + f_D`` on each update step."""
  return batch_size * (3.0 * sparse * (steps - update_steps)
                       + (2.0 * sparse + dense) * update_steps)


def sparsegpt_flops(shapes: Sequence[tuple[int, int]], samples: int
                    ) -> float:
  """Hessians, inverses and the OBS sweep of every ``[n_in, n_out]`` layer.

  >>> sparsegpt_flops([(2, 3)], 4)
  80.0
  """
  total = 0.0
  for n_in, n_out in shapes:
    total += 2.0 * samples * n_in ** 2 + 3.0 * n_in ** 3
    total += 2.0 * n_out * n_in ** 2
  return total


def update_steps(total_steps: int, update_every: int, stop_fraction: float
                 ) -> int:
  """How many steps update the masks (``dst.is_update_step``).

  >>> update_steps(1000, 100, 0.75)
  7
  """
  end = int(stop_fraction * total_steps)
  return len(range(update_every, min(end, total_steps), update_every))


def kernel_shapes(masks: PyTree) -> list[tuple[int, int]]:
  """``[n_in, n_out]`` of every prunable leaf (leading axes flattened)."""
  return [(math.prod(np.shape(m)[:-1]), np.shape(m)[-1])
          for m in masks_lib.mask_leaves(masks)]
