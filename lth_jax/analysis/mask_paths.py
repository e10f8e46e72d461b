"""Paths through an MLP mask: who reaches whom, components, path weights.

The graph reading under ``structure.analyse`` and the export's slimming,
as array code over boolean ``[in, out]`` kernel masks: reachability is one
boolean reduction per layer and column (no loop over edges), components
come from ``scipy.sparse.csgraph``, and ``input_relevance`` sums the
products of ``|w|`` along every path by matrix products.
"""
from typing import Any, Sequence

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from lth_jax.analysis import mlp_layout


def reach_forward(kernels: Sequence[np.ndarray], start: np.ndarray
                  ) -> list[np.ndarray]:
  """Per layer, bool ``[n_l, K]``: reached from column k of ``start``.

  One boolean reduction per layer and column (rows of reached neurons,
  any along them): no float products, no loop over edges.

  >>> k = np.array([[True, False], [False, False]])
  >>> [r[:, 0].tolist() for r in reach_forward([k], np.ones((2, 1), bool))]
  [[True, True], [True, False]]
  """
  reach = [np.asarray(start, bool)]
  for k in kernels:
    reach.append(np.stack([k[r].any(0) for r in reach[-1].T], 1))
  return reach


def reach_backward(kernels: Sequence[np.ndarray], end: np.ndarray
                   ) -> list[np.ndarray]:
  """Per layer, bool ``[n_l, K]``: reaches column k of ``end`` (the last
  layer's ``[n_L, K]``)."""
  reach = [np.asarray(end, bool)]
  for k in reversed(kernels):
    reach.append(np.stack([k[:, r].any(1) for r in reach[-1].T], 1))
  return reach[::-1]


def components(active_kernels: Sequence[np.ndarray], sizes: Sequence[int],
                active: Sequence[np.ndarray]
                ) -> tuple[int, list[np.ndarray]]:
  """Connected components of the undirected active graph, labelled 0..C-1
  in order of their first neuron (-1: not active)."""
  offsets = np.concatenate([[0], np.cumsum(sizes)])
  rows, cols = [], []
  for l, a in enumerate(active_kernels):
    r, c = np.nonzero(a)
    rows.append(r + offsets[l])
    cols.append(c + offsets[l + 1])
  rows, cols = np.concatenate(rows), np.concatenate(cols)
  n = int(offsets[-1])
  graph = sparse.coo_matrix((np.ones(len(rows), np.int8), (rows, cols)),
                            shape=(n, n))
  _, labels = csgraph.connected_components(graph, directed=False)
  is_active = np.concatenate(active)
  names, first = np.unique(labels[is_active], return_index=True)
  order = names[np.argsort(first)]
  relabel = np.full(labels.max() + 1, -1)
  relabel[order] = np.arange(len(order))
  flat = np.where(is_active, relabel[labels], -1)
  return len(order), [flat[offsets[l]:offsets[l + 1]]
                      for l in range(len(sizes))]


def input_relevance(params: Any, masks: Any, tasks: Sequence[Any]
                    ) -> np.ndarray:
  """``[K, n_in]``: per task, each input's summed path weight to its outputs.

  The path weight of input ``i`` and output ``o`` is the sum over all
  paths of the product of ``|w|`` along it (masked kernels), so only
  active paths count (inactive and zombie neurons lie on none).

  >>> k = [np.array([[1., 0.], [0., 2.]]), np.array([[3., 0.], [0., 1.]])]
  >>> input_relevance(k, [np.ones((2, 2), bool)] * 2,
  ...                 [('a', [0], [0]), ('b', [1], [1])]).tolist()
  [[3.0, 0.0], [0.0, 2.0]]
  """
  kernels = mlp_layout.mlp_kernels(masks)
  if isinstance(params, (list, tuple)):
    weights = [np.asarray(w) for w in params]
  else:
    weights = mlp_layout.kernel_values(params)
  if [w.shape for w in weights] != [k.shape for k in kernels]:
    raise mlp_layout.StructureError('params and masks have different kernel shapes: '
                         f'{[w.shape for w in weights]} vs '
                         f'{[k.shape for k in kernels]}.')
  layout = mlp_layout.task_layout(tasks, kernels[0].shape[0], kernels[-1].shape[1])
  paths = np.abs(weights[-1] * kernels[-1]).astype(np.float64)
  for w, k in zip(weights[-2::-1], kernels[-2::-1]):
    paths = np.abs(w * k) @ paths
  return np.stack([paths[:, t.outputs].sum(1) for t in layout])
