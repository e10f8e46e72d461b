"""The structure of an MLP ticket: which neurons and weights still matter,
which subnetworks the active graph falls into, and which task each serves.

Follows *Winning the Lottery Twice* (the thesis's ``nxutils`` reading of a
mask, see RESEARCH.md), as array code over the masks: boolean reachability
is one reduction per layer (a boolean matrix-vector product), components
come from ``scipy.sparse.csgraph`` (both in ``mask_paths``, beside the
per-task input relevance); nothing loops over edges.

* A neuron is **pruned** when no kept weight touches it (an isolated node),
  **inactive** when it has no path to any output, **zombie** when it reaches
  an output but no input reaches it, **active** otherwise. A weight is
  pruned (masked out), inactive (its target is inactive), zombie (its source
  is a zombie) or active. Input neurons are never zombies. The thesis's bias
  rule: a zombie neuron with a live bias still drives its outputs with a
  constant, so zombies are not removable; given biases, ``zombies_driving``
  counts the zombie neurons that do (a non-zero bias, or fed by one).
* **Components**: connected components of the undirected active subgraph.
  For component ``c`` and task ``k``, ``coverage_in[c, k]`` is the share of
  task ``k``'s inputs in ``c``, ``coverage_out`` that of its outputs, and
  ``coverage = coverage_in * coverage_out``.
* **State**: ``degraded`` when some task is not whole inside one component
  (it lost an input or output, or they are split between components),
  ``separated`` when it is not degraded and the components are exactly one
  per task, each touching only its task, ``interconnected`` otherwise. With
  ``coverage='outputs'`` (the thesis's rule for MNIST + Fashion-MNIST, whose
  border pixels carry no information) a task needs all its outputs but only
  some of its inputs.
* **Single-task neurons**: per layer, the share of active neurons that
  serve one task only: reached only from that task's inputs and reaching
  only its outputs (``single_task_share``; the thesis's input and output
  views separately in ``single_task_share_inputs`` / ``_outputs``).

>>> import numpy as np
>>> eye = np.eye(2, dtype=bool)  # 2 -> 2 -> 2, input i feeds output i only
>>> s = analyse([eye, eye], [('a', [0], [0]), ('b', [1], [1])])
>>> s.state, s.num_components, s.active_weights.tolist()
('separated', 2, [2, 2])
"""
from typing import Any, NamedTuple, Sequence

import numpy as np

from lth_jax import errors
from lth_jax.analysis import mask_paths
# The mask and task readers, re-exported: structure.analyse's vocabulary.
from lth_jax.analysis.mlp_layout import StructureError
from lth_jax.analysis.mlp_layout import mlp_biases
from lth_jax.analysis.mlp_layout import mlp_kernels
from lth_jax.analysis.mlp_layout import task_layout

#: Neuron and weight classes (the values of ``neuron_classes``).
PRUNED, INACTIVE, ZOMBIE, ACTIVE = 0, 1, 2, 3
CLASS_NAMES = ('pruned', 'inactive', 'zombie', 'active')
STATES = ('interconnected', 'separated', 'degraded')
COVERAGE_RULES = ('inputs_outputs', 'outputs')
# Reachability (``mask_paths``), re-exported for the export's slimming.
reach_forward = mask_paths.reach_forward
reach_backward = mask_paths.reach_backward



class Structure(NamedTuple):
  """What ``analyse`` finds in one mask (layer 0 is the input layer).

  Attributes:
    sizes: neurons per layer, inputs first.
    tasks: the tasks' names.
    neuron_classes: per layer, int8 ``[n_l]`` of ``PRUNED`` ... ``ACTIVE``.
    kept_weights, active_weights, inactive_weights, zombie_weights: per
      weight layer, int counts ``[L]`` (pruned = size - kept).
    zombies_driving: per layer, zombie neurons that drive their outputs
      with a constant (None without biases).
    component_of: per layer, int ``[n_l]``: the neuron's active component,
      -1 if it is not active.
    num_components: components of the active subgraph.
    component_neurons: ``[C, layers]`` active neurons per component.
    component_weights: ``[C]`` active weights per component.
    coverage_in, coverage_out, coverage: ``[C, K]`` (see module doc).
    state: 'interconnected', 'separated' or 'degraded'.
    single_task_share, single_task_share_inputs, single_task_share_outputs:
      per layer, the share of active neurons serving one task (NaN where a
      layer has no active neuron).
  """
  sizes: tuple[int, ...]
  tasks: tuple[str, ...]
  neuron_classes: list[np.ndarray]
  kept_weights: np.ndarray
  active_weights: np.ndarray
  inactive_weights: np.ndarray
  zombie_weights: np.ndarray
  zombies_driving: np.ndarray | None
  component_of: list[np.ndarray]
  num_components: int
  component_neurons: np.ndarray
  component_weights: np.ndarray
  coverage_in: np.ndarray
  coverage_out: np.ndarray
  coverage: np.ndarray
  state: str
  single_task_share: np.ndarray
  single_task_share_inputs: np.ndarray
  single_task_share_outputs: np.ndarray


def _share(single: np.ndarray, active: np.ndarray) -> float:
  n = int(active.sum())
  return float((single & active).sum() / n) if n else float('nan')


def network_state(coverage_in: np.ndarray, coverage_out: np.ndarray,
                  rule: str = 'inputs_outputs') -> str:
  """'interconnected', 'separated' or 'degraded' from ``[C, K]`` coverages.

  >>> network_state(np.eye(2), np.eye(2))
  'separated'
  >>> network_state(np.ones((1, 2)), np.ones((1, 2)))
  'interconnected'
  >>> network_state(np.array([[1., 0.], [0., .5]]), np.eye(2))
  'degraded'
  """
  if rule not in COVERAGE_RULES:
    raise errors.InputError(f'unknown coverage rule {rule!r}; known: '
                     f'{", ".join(COVERAGE_RULES)}.')
  num_tasks = coverage_out.shape[1]
  if coverage_out.shape[0] == 0:
    return 'degraded'
  if rule == 'inputs_outputs':
    whole = (coverage_in * coverage_out) >= 1.0
  else:
    whole = (coverage_out >= 1.0) & (coverage_in > 0)
  if not whole.any(0).all():
    return 'degraded'
  touches = ((coverage_in > 0) | (coverage_out > 0)).sum(1)
  if coverage_out.shape[0] == num_tasks and (touches == 1).all():
    return 'separated'
  return 'interconnected'


def analyse(masks: Any, tasks: Sequence[Any], biases: Any = None,
            coverage: str = 'inputs_outputs') -> Structure:
  """Classifies every neuron and weight, finds components, coverage, state.

  Args:
    masks: an MLP mask tree or a list of ``[in, out]`` kernel masks.
    tasks: ``(name, inputs, outputs)`` per task (see ``task_layout``).
    biases: optional bias vectors per non-input layer (or the params tree,
      see ``mlp_biases``), for ``zombies_driving``.
    coverage: 'inputs_outputs' (a task needs every input and output) or
      'outputs' (every output and some input), see the module doc.

  Returns:
    A ``Structure``.

  Raises:
    StructureError: the masks are not an MLP's, or the tasks do not split
      its inputs and outputs; the message names the first offender.
  """
  if coverage not in COVERAGE_RULES:
    raise errors.InputError(f'unknown coverage rule {coverage!r}; known: '
                     f'{", ".join(COVERAGE_RULES)}.')
  kernels = mlp_kernels(masks)
  sizes = (kernels[0].shape[0],) + tuple(k.shape[1] for k in kernels)
  layout = task_layout(tasks, sizes[0], sizes[-1])
  num_tasks = len(layout)
  task_in = np.zeros((sizes[0], num_tasks), bool)
  task_out = np.zeros((sizes[-1], num_tasks), bool)
  for k, t in enumerate(layout):
    task_in[t.inputs, k] = True
    task_out[t.outputs, k] = True

  # Reachability from any input / to any output, and the edge counts.
  fwd = [f[:, 0] for f in mask_paths.reach_forward(kernels, np.ones((sizes[0], 1),
                                                          bool))]
  bwd = [b[:, 0] for b in mask_paths.reach_backward(kernels, np.ones((sizes[-1], 1),
                                                          bool))]
  out_deg = [np.count_nonzero(k, 1) for k in kernels] + [
      np.zeros(sizes[-1], int)]
  in_deg = [np.zeros(sizes[0], int)] + [np.count_nonzero(k, 0)
                                        for k in kernels]
  classes = []
  for l in range(len(sizes)):
    c = np.full(sizes[l], ACTIVE, np.int8)
    c[~fwd[l]] = ZOMBIE
    c[~bwd[l]] = INACTIVE
    c[(out_deg[l] == 0) & (in_deg[l] == 0)] = PRUNED
    if l == 0:
      c[out_deg[0] == 0] = PRUNED
    if l == len(sizes) - 1:
      c[in_deg[l] == 0] = PRUNED
    classes.append(c)
  # Per source neuron, its kept weights into neurons that reach an output.
  to_live = [np.count_nonzero(k[:, bwd[l + 1]], 1)
             for l, k in enumerate(kernels)]
  kept = np.array([int(np.count_nonzero(k)) for k in kernels])
  active_w = np.array([int(t[fwd[l]].sum()) for l, t in enumerate(to_live)])
  zombie_w = np.array([int(t[~fwd[l]].sum()) for l, t in enumerate(to_live)])
  inactive_w = kept - active_w - zombie_w

  driving = None
  if biases is not None:
    bias_list = (mlp_biases(biases) if not isinstance(biases, (list, tuple))
                 else [np.asarray(b) for b in biases])
    if len(bias_list) != len(kernels):
      raise StructureError(f'{len(bias_list)} bias vectors for '
                           f'{len(kernels)} layers.')
    live = np.zeros(sizes[0], bool)
    driving = [0]
    for l, k in enumerate(kernels):
      zombie = classes[l + 1] == ZOMBIE
      live = zombie & ((np.asarray(bias_list[l]) != 0) | k[live].any(0))
      driving.append(int(live.sum()))
    driving = np.array(driving)

  # The active subgraph, its components and their coverage of the tasks.
  active = [c == ACTIVE for c in classes]
  active_kernels = [k & active[l][:, None] & active[l + 1][None, :]
                    for l, k in enumerate(kernels)]
  num_comp, comp = mask_paths.components(active_kernels, sizes, active)
  comp_neurons = np.stack([np.bincount(c[c >= 0], minlength=num_comp)
                           for c in comp], 1) if num_comp else np.zeros(
                               (0, len(sizes)), int)
  comp_weights = np.zeros(num_comp, int)
  for l, a in enumerate(active_kernels):
    src = comp[l] >= 0
    comp_weights += np.bincount(comp[l][src],
                                weights=np.count_nonzero(a[src], 1),
                                minlength=num_comp).astype(int)

  def cover(labels, member):
    counts = np.zeros((num_comp, num_tasks))
    rows = labels >= 0
    np.add.at(counts, labels[rows], member[rows].astype(float))
    return counts / member.sum(0)

  cov_in, cov_out = cover(comp[0], task_in), cover(comp[-1], task_out)
  state = network_state(cov_in, cov_out, coverage)

  # Which tasks each active neuron serves (input and output views).
  from_tasks = mask_paths.reach_forward(active_kernels, task_in & active[0][:, None])
  to_tasks = mask_paths.reach_backward(active_kernels, task_out & active[-1][:, None])
  share_in, share_out, share = [], [], []
  for l in range(len(sizes)):
    f, t = from_tasks[l], to_tasks[l]
    share_in.append(_share(f.sum(1) == 1, active[l]))
    share_out.append(_share(t.sum(1) == 1, active[l]))
    share.append(_share((f | t).sum(1) == 1, active[l]))
  return Structure(
      sizes=sizes, tasks=tuple(t.name for t in layout),
      neuron_classes=classes, kept_weights=kept, active_weights=active_w,
      inactive_weights=inactive_w, zombie_weights=zombie_w,
      zombies_driving=driving, component_of=comp, num_components=num_comp,
      component_neurons=comp_neurons, component_weights=comp_weights,
      coverage_in=cov_in, coverage_out=cov_out, coverage=cov_in * cov_out,
      state=state, single_task_share=np.array(share),
      single_task_share_inputs=np.array(share_in),
      single_task_share_outputs=np.array(share_out))


def weight_classes(masks: Any, structure: Structure) -> list[np.ndarray]:
  """Per weight layer, int8 ``[in, out]`` classes (``PRUNED`` ...).

  >>> k = np.array([[True, False]])
  >>> s = analyse([k], [('a', [0], [0, 1])], coverage='outputs')
  >>> weight_classes([k], s)[0].tolist()
  [[3, 0]]
  """
  out = []
  for l, k in enumerate(mlp_kernels(masks)):
    src = structure.neuron_classes[l]
    dst = structure.neuron_classes[l + 1]
    c = np.full(k.shape, ACTIVE, np.int8)
    c[src == ZOMBIE, :] = ZOMBIE
    c[:, (dst == INACTIVE) | (dst == PRUNED)] = INACTIVE
    c[~k] = PRUNED
    out.append(c)
  return out


def first_level(states: Sequence[str], state: str) -> int | None:
  """The first index (level) at which ``states`` is ``state``, or None.

  >>> first_level(['interconnected', 'separated', 'degraded'], 'separated')
  1
  """
  if state not in STATES:
    raise errors.InputError(
        f'unknown state {state!r}; known: {", ".join(STATES)}.')
  return next((i for i, s in enumerate(states) if s == state), None)


def run_outcome(states: Sequence[str]) -> str:
  """The thesis's category of a run from its per-level states:
  'separated', 'separated-degraded', 'degraded' or 'interconnected'.

  >>> run_outcome(['interconnected', 'separated', 'degraded'])
  'separated-degraded'
  """
  split, broken = first_level(states, 'separated'), first_level(
      states, 'degraded')
  if split is not None and (broken is None or split < broken):
    return 'separated' if broken is None else 'separated-degraded'
  return 'degraded' if broken is not None else 'interconnected'


def summary(structure: Structure) -> dict[str, Any]:
  """A JSON-ready digest: counts, components, coverage, state."""
  s = structure
  counts = {name: [int((c == i).sum()) for c in s.neuron_classes]
            for i, name in enumerate(CLASS_NAMES)}

  def nan_none(values):
    return [None if np.isnan(v) else round(float(v), 4) for v in values]

  return {
      'sizes': list(s.sizes), 'tasks': list(s.tasks), 'state': s.state,
      'neurons': counts,
      'weights': {'kept': int(s.kept_weights.sum()),
                  'active': int(s.active_weights.sum()),
                  'inactive': int(s.inactive_weights.sum()),
                  'zombie': int(s.zombie_weights.sum()),
                  'active_per_layer': s.active_weights.tolist()},
      'zombies_driving': (None if s.zombies_driving is None
                          else s.zombies_driving.tolist()),
      'num_components': s.num_components,
      'component_weights': s.component_weights.tolist(),
      'component_neurons': s.component_neurons.tolist(),
      'coverage': np.round(s.coverage, 4).tolist(),
      'coverage_in': np.round(s.coverage_in, 4).tolist(),
      'coverage_out': np.round(s.coverage_out, 4).tolist(),
      'single_task_share': nan_none(s.single_task_share),
      'single_task_share_inputs': nan_none(s.single_task_share_inputs),
      'single_task_share_outputs': nan_none(s.single_task_share_outputs),
  }
