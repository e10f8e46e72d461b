"""Tickets as PyTorch state dicts in ``safetensors`` files.

Two layouts, one file each:

* ``prune``: ``torch.nn.utils.prune``'s names: a pruned weight is
  ``<module>.weight_orig`` (the dense values) and ``<module>.weight_mask``
  (0/1 in the weight's dtype); load it into a module on which
  ``prune.custom_from_mask`` (or any ``prune`` method) has been applied;
* ``plain``: ``<module>.weight`` holds ``weight_orig * weight_mask``; it
  loads into an unpruned module.

Names and layouts (every model of ``lth_jax.models``): a Flax path
``<collection>/<module path>/<leaf>`` becomes ``<module path with dots>.
<torch leaf>``: ``params/.../kernel`` and ``embedding`` -> ``weight``,
``scale`` -> ``weight``, ``bias`` -> ``bias``, ``batch_stats/.../mean`` ->
``running_mean``, ``var`` -> ``running_var`` (a batch-norm module also gets
``num_batches_tracked``). Kernels are transposed to PyTorch's layout:
Dense ``(in, out)`` -> Linear ``(out, in)``; Conv ``HWIO`` -> ``OIHW``;
1-D Conv ``(W, I, O)`` -> ``(O, I, W)``; embeddings stay ``(vocab, dim)``.
Conv-2/4/6 (``dense_0`` after a conv) flatten an NHWC map where PyTorch
flattens NCHW: that kernel's input rows are reordered ``(H, W, C)`` ->
``(C, H, W)`` (``H = W``, from the row count). The mapping is stored in
the file's metadata (``lth_names``: one entry per tensor).
"""
import json
import math
import os
import pathlib
import re
from typing import Any

import numpy as np

from lth_jax import errors
from lth_jax import files
from lth_jax.export import ticket as ticket_lib

LAYOUTS = ('prune', 'plain')

_LEAF_NAMES = {('params', 'kernel'): 'weight', ('params', 'embedding'):
               'weight', ('params', 'scale'): 'weight',
               ('params', 'bias'): 'bias',
               ('batch_stats', 'mean'): 'running_mean',
               ('batch_stats', 'var'): 'running_var'}
_CONV = re.compile(r'^params/conv_(\d+)/kernel$')


def torch_name(path: str) -> str:
  """The PyTorch state-dict name of a Flax variable path.

  >>> torch_name('params/block_0_1/conv_0/kernel')
  'block_0_1.conv_0.weight'
  >>> torch_name('batch_stats/bn_0/var')
  'bn_0.running_var'
  """
  collection, *module, leaf = path.split('/')
  name = _LEAF_NAMES.get((collection, leaf))
  if name is None or not module:
    raise errors.InputError(
        f'no PyTorch name for variable {path!r}: known leaves '
        f'are {sorted(set(_LEAF_NAMES))}.')
  return '.'.join(module + [name])


def _flatten_hwc(leaves: dict[str, Any]) -> int | None:
  """Channels of the NHWC map ``dense_0`` flattens (Conv-2/4/6), or None."""
  convs = [int(m.group(1)) for m in map(_CONV.match, leaves) if m]
  dense = leaves.get('params/dense_0/kernel')
  if not convs or dense is None:
    return None
  return int(leaves[f'params/conv_{max(convs)}/kernel'][0].shape[-1])


def _hwc_rows(rows: int, channels: int) -> np.ndarray:
  """Row order taking an NCHW-flattened index to the NHWC one."""
  side = math.isqrt(rows // channels)
  if side * side * channels != rows:
    raise errors.InputError(
        f'dense_0 reads {rows} features, not a square map of '
        f'{channels} channels: cannot reorder it for PyTorch.')
  return np.arange(rows).reshape(side, side, channels).transpose(
      2, 0, 1).reshape(-1)


def to_torch_layout(path: str, value: np.ndarray,
                    flatten_channels: int | None = None) -> np.ndarray:
  """A Flax leaf in PyTorch's layout (see the module docstring).

  >>> to_torch_layout('params/d/kernel', np.zeros((3, 2))).shape
  (2, 3)
  >>> to_torch_layout('params/c/kernel', np.zeros((3, 3, 4, 8))).shape
  (8, 4, 3, 3)
  """
  value = np.asarray(value)
  if not path.endswith('/kernel'):
    return value
  if value.ndim == 2:
    if flatten_channels and path == 'params/dense_0/kernel':
      value = value[_hwc_rows(value.shape[0], flatten_channels)]
    return np.ascontiguousarray(value.T)
  if value.ndim in (3, 4):  # (W, I, O) / (H, W, I, O) -> (O, I, [H,] W)
    axes = (value.ndim - 1, value.ndim - 2, *range(value.ndim - 2))
    return np.ascontiguousarray(value.transpose(axes))
  raise errors.InputError(
      f'{path!r} has shape {value.shape}: no PyTorch layout.')


def from_torch_layout(path: str, value: np.ndarray, shape: tuple[int, ...],
                      flatten_channels: int | None = None) -> np.ndarray:
  """The inverse of ``to_torch_layout`` for a Flax leaf of ``shape``.

  Raises:
    ValueError: ``value`` does not have the PyTorch shape of ``shape``.
  """
  value = np.asarray(value)
  want = to_torch_layout(path, np.zeros(shape, np.uint8)).shape
  if value.shape != want:
    raise errors.InputError(
        f'{path!r} is {value.shape} in the PyTorch file, but '
        f'the model needs {want} (Flax {tuple(shape)}): the '
        "file is not this model's; check the model name and "
        'its arguments.')
  if not path.endswith('/kernel') or value.ndim == 1:
    return value
  if value.ndim == 2:
    out = value.T
    if flatten_channels and path == 'params/dense_0/kernel':
      out = out[np.argsort(_hwc_rows(out.shape[0], flatten_channels))]
    return np.ascontiguousarray(out)
  axes = (*range(2, value.ndim), 1, 0)
  return np.ascontiguousarray(value.transpose(axes))


def torch_tensors(leaves: dict[str, tuple[np.ndarray, np.ndarray | None]],
                  layout: str = 'prune'
                  ) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
  """A ticket's leaves (``Ticket.leaves``) as PyTorch tensors and names.

  Returns:
    ``(tensors, names)``: the state dict (NumPy arrays) and, per Flax
    leaf, ``{'flax', 'torch', 'flax_shape', 'torch_shape'}``.
  """
  if layout not in LAYOUTS:
    raise errors.InputError(f'unknown layout {layout!r}; known: {LAYOUTS}.')
  channels = _flatten_hwc(leaves)
  tensors, names = {}, []
  for path, (values, mask) in leaves.items():
    name = torch_name(path)
    weight = to_torch_layout(path, values, channels)
    if mask is not None:
      torch_mask = to_torch_layout(path, mask, channels)
      weight = np.where(torch_mask, weight, 0).astype(weight.dtype)
      if layout == 'prune':
        tensors[f'{name}_orig'] = weight
        tensors[f'{name}_mask'] = torch_mask.astype(weight.dtype)
        name = f'{name}_orig'
    tensors.setdefault(name, weight)
    if name.endswith('.running_var'):
      tensors[name[:-len('running_var')] + 'num_batches_tracked'] = np.zeros(
          (), np.int64)
    names.append({'flax': path, 'torch': name, 'flax_shape':
                  list(values.shape), 'torch_shape': list(weight.shape)})
  return tensors, names


def layer_mapping(model: str, input_shape: tuple[int, ...],
                  **model_kwargs) -> list[dict[str, Any]]:
  """Flax path -> PyTorch name and shapes for every variable of a model.

  >>> layer_mapping('lenet300_100', (28, 28, 1))[0]
  {'flax': 'params/hidden_0/bias', 'torch': 'hidden_0.bias', \
'flax_shape': [300], 'torch_shape': [300]}
  """
  import jax  # pylint: disable=import-outside-toplevel
  from lth_jax import models  # pylint: disable=import-outside-toplevel
  dtype = np.int32 if model.startswith('text') else np.float32
  shapes = jax.eval_shape(models.get_model(model, **model_kwargs).init,
                          jax.random.key(0), np.zeros((1, *input_shape),
                                                      dtype))
  leaves = {p: (np.broadcast_to(np.zeros((), np.uint8), s.shape), None)
            for p, s in ticket_lib.flat_paths(shapes).items()}
  return torch_tensors(leaves, 'plain')[1]


def save_torch(path: str | os.PathLike, t: ticket_lib.Ticket,
               layout: str = 'prune') -> int:
  """Writes a ticket as a safetensors file, atomically; returns its bytes."""
  from safetensors import numpy as st_numpy  # pylint: disable=import-outside-toplevel
  tensors, names = torch_tensors(t.leaves, layout)
  data = st_numpy.save(tensors, metadata={
      'format': 'pt', 'lth_layout': layout, 'lth_model': t.model,
      'lth_model_kwargs': json.dumps(t.model_kwargs),
      'lth_names': json.dumps(names)})
  files.write_bytes_atomic(path, data)
  return len(data)


def load_torch(path: str | os.PathLike
               ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
  """The tensors and metadata of a safetensors file, as NumPy.

  Raises:
    OSError: naming the file when it is missing, truncated or not a
      safetensors file.
  """
  from safetensors import numpy as st_numpy  # pylint: disable=import-outside-toplevel
  path = pathlib.Path(path)
  try:
    data = path.read_bytes()
    tensors = st_numpy.load(data)
    header = json.loads(data[8:8 + int.from_bytes(data[:8], 'little')])
  except Exception as e:  # pylint: disable=broad-except  (safetensors' own)
    raise errors.UnreadableFileError(
        f'{path} is not a whole safetensors file ({e}); write it '
        'again (lth_jax.export.torch_format.save_torch).') from e
  return tensors, header.get('__metadata__') or {}
