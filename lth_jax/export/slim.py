"""Slimming an MLP ticket: a smaller dense network, the same predictions.

A pruned MLP (``lth_jax.models.mlp``: layers ``hidden_<i>`` then
``output``, ReLU between) usually holds units that cannot matter:

* a hidden unit that reaches no output through kept weights (*inactive*)
  changes nothing downstream: it is removed with its weights;
* a hidden unit that no input reaches (*zombie*) outputs a constant
  ``relu(b + ...)``: it is removed and its constant times its kept outgoing
  weights is folded into the next layer's bias (exact, up to the order of
  the float sums);
* an input feature that no kept weight reads towards an output is dropped:
  the slim network reads ``x.reshape(n, -1)[:, inputs]``.

Output units are always kept, so the logits keep their shape and meaning.
The result, ``SlimMLP``, is a plain dense MLP (its kernels still hold
zeros where the ticket pruned a weight between kept units); ``to_flax``
gives the matching ``lth_jax.models.mlp.MLP`` and its params.

>>> k0 = np.array([[1., 0.], [0., 0.]], np.float32)  # input 1 read by none
>>> k1 = np.array([[2.], [3.]], np.float32)  # hidden 1: a zombie, bias 1
>>> p = {'hidden_0': {'kernel': k0, 'bias': np.array([0., 1.], np.float32)},
...      'output': {'kernel': k1, 'bias': np.zeros(1, np.float32)}}
>>> s = slim_mlp(p, {'hidden_0': {'kernel': k0 != 0}, 'output': None})
>>> s.inputs.tolist(), [k.shape for k in s.kernels], s.biases[-1].tolist()
([0], [(1, 1), (1, 1)], [3.0])
"""
import re
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import errors
from lth_jax import models
from lth_jax.analysis import structure

_HIDDEN = re.compile(r'^hidden_(\d+)$')


class SlimMLP(NamedTuple):
  """A slimmed MLP.

  Attributes:
    num_inputs: input features of the original network (flattened).
    inputs: int ``[k]``: the input features the slim network reads.
    units: per hidden layer, int ``[n_l']``: the kept units' indices in the
      original layer.
    kernels: dense ``[in', out']`` kernels (pruned weights are zeros).
    biases: ``[out']`` biases, zombie constants folded in.
  """
  num_inputs: int
  inputs: np.ndarray
  units: list[np.ndarray]
  kernels: list[np.ndarray]
  biases: list[np.ndarray]


def mlp_layers(params: dict[str, Any], masks: Any = None
               ) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
  """``(name, kernel, bias, mask)`` of an MLP's layers, inputs first.

  ``masks`` mirrors ``params`` (None leaves or subtrees: never pruned); the
  kernels come back masked.

  Raises:
    ValueError: the params are not an ``MLP``'s (``hidden_<i>`` and
      ``output`` dense layers chained by their shapes).
  """
  hidden = sorted(int(m.group(1)) for m in map(_HIDDEN.match, params) if m)
  names = [f'hidden_{i}' for i in hidden] + ['output']
  masks = masks or {}
  layers = []
  for name in names:
    layer = params.get(name) or {}
    if np.ndim(layer.get('kernel')) != 2 or np.ndim(layer.get('bias')) != 1:
      raise errors.InputError(
          f'params are not an MLP\'s: {name!r} needs a 2-D kernel and a bias '
          f'(the params hold {sorted(params)}); slimming takes '
          'lth_jax.models.mlp networks.')
    kernel, mask = masked(params, masks, name, 'kernel')
    if layers and kernel.shape[0] != layers[-1][1].shape[1]:
      raise errors.InputError(
          f'{name}/kernel takes {kernel.shape[0]} inputs but '
          f'{layers[-1][0]} gives {layers[-1][1].shape[1]}.')
    layers.append((name, kernel,
                   np.asarray(layer['bias']), mask))
  return layers


def masked(params: dict[str, Any], masks: Any, name: str, leaf: str
           ) -> tuple[np.ndarray, np.ndarray]:
  """``params[name][leaf]`` with pruned entries zero, and its bool mask.

  A missing mask (None) keeps every entry.

  Raises:
    InputError: the mask's shape is not the weight's.
  """
  values = np.asarray(params[name][leaf])
  mask = ((masks or {}).get(name) or {}).get(leaf)
  mask = np.ones(values.shape, bool) if mask is None else np.asarray(
      mask, bool)
  if mask.shape != values.shape:
    raise errors.InputError(
        f'the mask of {name}/{leaf} is {mask.shape} but the weight is '
        f"{values.shape}: the masks are not this model's; export them "
        'from the same run.')
  return np.where(mask, values, 0).astype(values.dtype), mask


def _constants(kernels: list[np.ndarray], biases: list[np.ndarray]
               ) -> list[np.ndarray]:
  """Per layer (inputs first), activations on the all-zero input.

  A unit that no input reaches has this value on every input.
  """
  h = [np.zeros(kernels[0].shape[0], kernels[0].dtype)]
  for i, (k, b) in enumerate(zip(kernels, biases)):
    z = h[-1] @ k + b
    h.append(np.maximum(z, 0) if i < len(kernels) - 1 else z)
  return h


def slim_mlp(params: dict[str, Any], masks: Any) -> SlimMLP:
  """Removes unreachable and dead units and unread inputs (module doc)."""
  layers = mlp_layers(params, masks)
  kernels = [k for _, k, _, _ in layers]
  biases = [b for _, _, b, _ in layers]
  bool_masks = [m for _, _, _, m in layers]
  n_in, n_out = kernels[0].shape[0], kernels[-1].shape[1]
  reached = [r[:, 0] for r in structure.reach_forward(
      bool_masks, np.ones((n_in, 1), bool))]
  reaching = [r[:, 0] for r in structure.reach_backward(
      bool_masks, np.ones((n_out, 1), bool))]
  keep = [reaching[0]] + [a & b for a, b in zip(reached[1:-1],
                                                 reaching[1:-1])]
  keep.append(np.ones(n_out, bool))
  const = _constants(kernels, biases)
  new_kernels, new_biases = [], []
  for i, (k, b) in enumerate(zip(kernels, biases)):
    src, dst = keep[i], keep[i + 1]
    folded = b[dst]
    if i:  # Zombies of the previous layer feed a constant.
      zombie = ~reached[i] & ~src
      folded = folded + const[i][zombie] @ k[np.ix_(zombie, dst)]
    new_kernels.append(np.ascontiguousarray(k[np.ix_(src, dst)]))
    new_biases.append(folded.astype(b.dtype))
  return SlimMLP(n_in, np.flatnonzero(keep[0]),
                 [np.flatnonzero(u) for u in keep[1:-1]], new_kernels,
                 new_biases)


def slim_forward(slim: SlimMLP, x: jax.Array) -> jax.Array:
  """Logits of the slim network on inputs ``[batch, ...]`` (jit-able)."""
  h = jnp.reshape(x, (x.shape[0], -1))[:, slim.inputs]
  for i, (k, b) in enumerate(zip(slim.kernels, slim.biases)):
    h = h @ k + b
    if i < len(slim.kernels) - 1:
      h = jax.nn.relu(h)
  return h


def to_flax(slim: SlimMLP) -> tuple[Any, dict[str, Any]]:
  """The slim network as an ``MLP`` and its variables.

  The model takes the selected inputs: apply it to
  ``x.reshape(n, -1)[:, slim.inputs]``.
  """
  model = models.get_model('mlp', num_classes=slim.kernels[-1].shape[1],
                           hidden=tuple(len(u) for u in slim.units))
  names = [f'hidden_{i}' for i in range(len(slim.units))] + ['output']
  params = {n: {'kernel': jnp.asarray(k), 'bias': jnp.asarray(b)}
            for n, k, b in zip(names, slim.kernels, slim.biases)}
  return model, {'params': params}


def report(params: dict[str, Any], masks: Any, slim: SlimMLP
           ) -> dict[str, Any]:
  """What slimming removed: units per layer, parameters, kept weights."""
  layers = mlp_layers(params, masks)
  before = [layers[0][1].shape[0]] + [k.shape[1] for _, k, _, _ in layers]
  after = [len(slim.inputs)] + [k.shape[1] for k in slim.kernels]
  params_before = sum(k.size + b.size for _, k, b, _ in layers)
  params_after = sum(k.size + b.size for k, b in zip(slim.kernels,
                                                     slim.biases))
  return {
      'units_before': before, 'units_after': after,
      'units_removed': [a - b for a, b in zip(before, after)],
      'params_before': int(params_before), 'params_after': int(params_after),
      'params_removed': int(params_before - params_after),
      'kept_weights_before': int(sum(m.sum() for *_, m in layers)),
      'nonzero_weights_after': int(sum((k != 0).sum()
                                       for k in slim.kernels)),
  }
