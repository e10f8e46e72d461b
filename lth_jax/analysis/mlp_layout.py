"""Reading an MLP's masks and a task layout for the structure analysis.

``mlp_kernels`` turns a mask tree (or a list) into the ordered ``[in, out]``
kernel masks, refusing anything that is not a chain of dense layers;
``task_layout`` checks that the tasks' index ranges split the inputs and
the outputs. Both name the first offending leaf or range in one line.
"""
import re
from typing import Any, NamedTuple, Sequence

import numpy as np

from lth_jax import errors

_KERNEL = re.compile(r'(^|/)(kernel|weight|w)(/value)?$')
_BIAS = re.compile(r'(^|/)(bias|b)(/value)?$')


class StructureError(errors.InputError):
  """The masks are not an MLP's, or the tasks do not fit them."""


class TaskIO(NamedTuple):
  """One task's input and output neurons (index arrays, sorted)."""
  name: str
  inputs: np.ndarray
  outputs: np.ndarray


def _natural(path: str) -> tuple[Any, ...]:
  """Sort key: digits numerically, an ``output`` layer after the rest."""
  parts = tuple(int(t) if t.isdigit() else t
                for t in re.split(r'(\d+)', path) if t)
  return ('output' in path.split('/'), tuple(
      (0, p) if isinstance(p, int) else (1, p) for p in parts))


def _flat_leaves(tree: Any) -> list[tuple[str, Any]]:
  """``(path, leaf)`` of a nested mapping or sequence; None leaves kept."""
  if isinstance(tree, dict) or hasattr(tree, 'items'):
    out = []
    for key, value in tree.items():
      out += [(f'{key}/{p}' if p else str(key), v)
              for p, v in _flat_leaves(value)]
    return out
  if isinstance(tree, (list, tuple)):
    out = []
    for i, value in enumerate(tree):
      out += [(f'{i}/{p}' if p else str(i), v)
              for p, v in _flat_leaves(value)]
    return out
  return [('', tree)]


def mlp_kernels(masks: Any) -> list[np.ndarray]:
  """The kernel masks of an MLP mask tree, inputs to outputs, as bool arrays.

  ``masks`` is a list of 2-D ``[in, out]`` arrays (in order) or a mask tree
  (``{'hidden_0': {'kernel': ..., 'bias': None}, ..., 'output': ...}``):
  its kernel leaves ordered by path (numbers numerically, ``output`` last).
  Bias leaves (None or 1-D) are skipped.

  Raises:
    StructureError: naming the first leaf that is not a dense kernel (a
      conv kernel, an unknown leaf) or does not take the previous layer's
      outputs (a skip connection, a wrong order).

  >>> [k.shape for k in mlp_kernels({'output': {'kernel': np.ones((3, 2))},
  ...                                'hidden_0': {'kernel': np.ones((4, 3)),
  ...                                             'bias': None}})]
  [(4, 3), (3, 2)]
  """
  if isinstance(masks, (list, tuple)) and all(
      hasattr(m, 'shape') for m in masks):
    named = [(f'layer {i}', m) for i, m in enumerate(masks)]
  else:
    named = []
    for path, leaf in sorted(_flat_leaves(masks), key=lambda x: _natural(
        x[0])):
      if leaf is None or (_BIAS.search(path) and np.ndim(leaf) == 1):
        continue
      if not _KERNEL.search(path):
        raise StructureError(
            f'mask leaf {path!r} (shape {np.shape(leaf)}) is not a dense '
            'kernel: structure analysis needs the masks of an MLP.')
      named.append((path, leaf))
  if not named:
    raise StructureError('the mask tree has no dense kernel: structure '
                         'analysis needs the masks of an MLP.')
  kernels = []
  for i, (path, leaf) in enumerate(named):
    leaf = np.asarray(leaf)
    if leaf.ndim != 2:
      raise StructureError(
          f'mask leaf {path!r} has shape {leaf.shape}: not a dense [in, out] '
          'kernel (a conv kernel?); structure analysis needs an MLP.')
    if i and leaf.shape[0] != kernels[-1].shape[1]:
      raise StructureError(
          f'mask leaf {path!r} takes {leaf.shape[0]} inputs but '
          f'{named[i - 1][0]!r} gives {kernels[-1].shape[1]}: the layers are '
          'not a chain of dense layers (a skip connection?).')
    kernels.append(leaf.astype(bool))
  return kernels


def mlp_biases(params: Any) -> list[np.ndarray]:
  """The bias vectors of an MLP params tree, in ``mlp_kernels`` order.

  >>> [b.tolist() for b in mlp_biases({'output': {'bias': np.zeros(1)},
  ...                                  'hidden_0': {'bias': np.ones(2)}})]
  [[1.0, 1.0], [0.0]]
  """
  leaves = sorted(_flat_leaves(params), key=lambda x: _natural(x[0]))
  return [np.asarray(v) for p, v in leaves if _BIAS.search(p)]


def _indices(spec: Any, size: int, what: str) -> np.ndarray:
  """A ``(start, stop)`` range, a ``range``/``slice`` or indices -> array."""
  if isinstance(spec, slice):
    spec = range(*spec.indices(size))
  if (isinstance(spec, tuple) and len(spec) == 2
      and all(isinstance(v, (int, np.integer)) for v in spec)):
    lo, hi = int(spec[0]), int(spec[1])
    if not 0 <= lo < hi <= size:
      raise StructureError(f'{what} range {spec} is not within the {size} '
                           'neurons of that layer.')
    return np.arange(lo, hi)
  idx = np.asarray(list(spec) if isinstance(spec, range) else spec)
  if idx.size == 0 or idx.ndim != 1 or not np.issubdtype(idx.dtype,
                                                          np.integer):
    raise StructureError(f'{what} must be a (start, stop) range or a '
                         f'non-empty list of neuron indices, got {spec!r}.')
  if idx.min() < 0 or idx.max() >= size:
    raise StructureError(f'{what} index {int(idx.max())} is not within the '
                         f'{size} neurons of that layer.')
  return np.unique(idx)


def task_layout(tasks: Sequence[Any], num_inputs: int, num_outputs: int
                ) -> tuple[TaskIO, ...]:
  """Checks that the tasks' ranges split the inputs and the outputs.

  Args:
    tasks: ``(name, inputs, outputs)`` triples (or ``TaskIO``); inputs and
      outputs are ``(start, stop)`` ranges or index lists.
    num_inputs, num_outputs: the network's input and output widths.

  Returns:
    The tasks with sorted index arrays.

  Raises:
    StructureError: naming the first range that leaves the layer, overlaps
      another task's, or leaves neurons of the layer in no task.

  >>> task_layout([('a', (0, 2), [0]), ('b', (2, 4), [1])], 4, 2)[1].inputs
  array([2, 3])
  """
  out = [TaskIO(str(t[0]), _indices(t[1], num_inputs, f'task {t[0]!r} '
                                    'inputs'),
                _indices(t[2], num_outputs, f'task {t[0]!r} outputs'))
         for t in tasks]
  if not out:
    raise StructureError('no tasks given: pass (name, inputs, outputs) '
                         'for each task.')
  for side, size in (('inputs', num_inputs), ('outputs', num_outputs)):
    owner = np.full(size, -1)
    for k, t in enumerate(out):
      idx = getattr(t, side)
      if (owner[idx] >= 0).any():
        j = int(idx[np.argmax(owner[idx] >= 0)])
        raise StructureError(
            f'task {t.name!r} {side} overlap task '
            f'{out[owner[j]].name!r} at index {j}: each neuron belongs to '
            'one task.')
      owner[idx] = k
    if (owner < 0).any():
      raise StructureError(
          f'the tasks\' {side} ranges do not cover the {size} {side}: '
          f'index {int(np.argmax(owner < 0))} is in no task.')
  return tuple(out)


def kernel_values(params: Any) -> list[np.ndarray]:
  """The kernel arrays of an MLP params tree, in ``mlp_kernels`` order."""
  leaves = sorted(_flat_leaves(params), key=lambda x: _natural(x[0]))
  return [np.asarray(v) for p, v in leaves if _KERNEL.search(p)]
