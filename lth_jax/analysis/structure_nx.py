"""networkx views of an MLP ticket: export for drawing, and the plain
graph-library reading that ``structure.analyse`` must agree with.

``reference_reading`` follows the thesis's procedure step by step on a
``networkx.DiGraph`` (node ``(layer, index)``, one edge per kept weight):
remove pruned (isolated) nodes, then the nodes with no path to an output
(inactive), then those no input reaches (zombie); what is left is the
active graph, whose undirected connected components are the subnetworks.
It is slow (Python over every edge) and serves as the reference in tests
and ``benchmarks/structure_speed.py``. networkx is needed only here
(``pip install networkx``).
"""
import pathlib
from typing import Any, Sequence

import networkx as nx
import numpy as np

from lth_jax.analysis import structure as structure_lib

Node = tuple[int, int]


def build_digraph(kernels: Sequence[np.ndarray]) -> nx.DiGraph:
  """Every neuron as node ``(layer, index)``, every kept weight as an edge."""
  g = nx.DiGraph()
  sizes = [kernels[0].shape[0]] + [k.shape[1] for k in kernels]
  for layer, n in enumerate(sizes):
    g.add_nodes_from(((layer, i) for i in range(n)), layer=layer)
  for layer, k in enumerate(kernels):
    for i, j in zip(*np.nonzero(k)):
      g.add_edge((layer, int(i)), (layer + 1, int(j)))
  return g


def reference_reading(masks: Any, tasks: Sequence[Any],
                      coverage: str = 'inputs_outputs') -> dict[str, Any]:
  """The thesis's networkx reading of a mask.

  Returns:
    ``{'classes': {node: class}, 'weight_classes': {edge: class},
    'components': [set of nodes], 'coverage_in', 'coverage_out': [C, K]
    arrays in the order of each component's first node, 'state'}``.
  """
  kernels = structure_lib.mlp_kernels(masks)
  g = build_digraph(kernels)
  last = len(kernels)
  layout = structure_lib.task_layout(tasks, kernels[0].shape[0],
                                     kernels[-1].shape[1])
  inputs = [n for n in g if n[0] == 0]
  outputs = [n for n in g if n[0] == last]
  classes = {n: structure_lib.ACTIVE for n in g}
  for n in g:  # isolated: the thesis drops them from the graph
    if g.degree(n) == 0:
      classes[n] = structure_lib.PRUNED
  productive = set(outputs)
  for o in outputs:
    productive |= nx.ancestors(g, o)
  for n in g:
    if n not in productive and classes[n] != structure_lib.PRUNED:
      classes[n] = structure_lib.INACTIVE
  rest = g.subgraph(productive)
  fed = set(inputs)
  for i in inputs:
    if i in rest:
      fed |= nx.descendants(rest, i)
  for n in rest:
    if n not in fed and classes[n] != structure_lib.PRUNED:
      classes[n] = structure_lib.ZOMBIE
  weights = {}
  for u, v in g.edges():
    if classes[v] == structure_lib.INACTIVE:
      weights[(u, v)] = structure_lib.INACTIVE
    elif classes[u] == structure_lib.ZOMBIE:
      weights[(u, v)] = structure_lib.ZOMBIE
    else:
      weights[(u, v)] = structure_lib.ACTIVE
  active = g.subgraph([n for n, c in classes.items()
                       if c == structure_lib.ACTIVE])
  comps = sorted((set(c) for c in nx.connected_components(
      active.to_undirected())), key=min)
  cov_in = np.zeros((len(comps), len(layout)))
  cov_out = np.zeros((len(comps), len(layout)))
  for c, nodes in enumerate(comps):
    for k, t in enumerate(layout):
      cov_in[c, k] = sum((0, int(i)) in nodes for i in t.inputs) / len(
          t.inputs)
      cov_out[c, k] = sum((last, int(o)) in nodes for o in t.outputs) / len(
          t.outputs)
  return {'classes': classes, 'weight_classes': weights, 'components': comps,
          'coverage_in': cov_in, 'coverage_out': cov_out,
          'state': structure_lib.network_state(cov_in, cov_out, coverage)}


def agreement(masks: Any, structure: structure_lib.Structure,
              reference: dict[str, Any]) -> dict[str, bool]:
  """Which parts of ``structure`` equal the ``reference_reading``: neuron
  classes, weight classes, components, coverage, state."""
  kernels = structure_lib.mlp_kernels(masks)
  classes = {(l, i): int(c) for l, cs in enumerate(structure.neuron_classes)
             for i, c in enumerate(cs)}
  wcls = structure_lib.weight_classes(kernels, structure)
  weights = {((l, int(i)), (l + 1, int(j))): int(c[i, j])
             for l, c in enumerate(wcls)
             for i, j in zip(*np.nonzero(c != structure_lib.PRUNED))}
  comps = [{(l, int(i)) for l, c in enumerate(structure.component_of)
            for i in np.nonzero(c == k)[0]}
           for k in range(structure.num_components)]
  order = sorted(range(len(comps)), key=lambda k: min(comps[k]))
  same_cover = len(order) == len(reference['components']) and all(
      np.allclose(getattr(structure, f)[order], reference[f])
      for f in ('coverage_in', 'coverage_out'))
  return {'neurons': classes == reference['classes'],
          'weights': weights == reference['weight_classes'],
          'components': [comps[k] for k in order] == reference['components'],
          'coverage': bool(same_cover),
          'state': structure.state == reference['state']}


def to_networkx(masks: Any, structure: structure_lib.Structure,
                tasks: Sequence[Any], only_active: bool = True
                ) -> nx.DiGraph:
  """The ticket as a ``DiGraph`` with attributes, for drawing or graphml.

  Nodes ``(layer, index)`` carry ``layer``, ``index``, ``cls`` (class name),
  ``component`` (-1 if not active) and ``task`` (the task whose input or
  output it is, '' for hidden neurons); edges carry ``cls``. With
  ``only_active`` the graph holds the active subgraph only, else every
  neuron and kept weight.
  """
  kernels = structure_lib.mlp_kernels(masks)
  wcls = structure_lib.weight_classes(kernels, structure)
  task_of = {}
  for t in structure_lib.task_layout(tasks, kernels[0].shape[0],
                                     kernels[-1].shape[1]):
    task_of.update({(0, int(i)): t.name for i in t.inputs})
    task_of.update({(len(kernels), int(o)): t.name for o in t.outputs})
  g = nx.DiGraph()
  for layer, classes in enumerate(structure.neuron_classes):
    for i, c in enumerate(classes):
      if only_active and c != structure_lib.ACTIVE:
        continue
      g.add_node((layer, i), layer=layer, index=i,
                 cls=structure_lib.CLASS_NAMES[c],
                 component=int(structure.component_of[layer][i]),
                 task=task_of.get((layer, i), ''))
  for layer, c in enumerate(wcls):
    keep = c == structure_lib.ACTIVE if only_active else (
        c != structure_lib.PRUNED)
    for i, j in zip(*np.nonzero(keep)):
      g.add_edge((layer, int(i)), (layer + 1, int(j)),
                 cls=structure_lib.CLASS_NAMES[c[i, j]])
  return g


def write_graphml(graph: nx.DiGraph, path: str | pathlib.Path) -> None:
  """Writes ``graph`` as graphml (node ids become ``'layer:index'``)."""
  relabelled = nx.relabel_nodes(graph, {n: f'{n[0]}:{n[1]}' for n in graph})
  pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
  nx.write_graphml(relabelled, str(path))
