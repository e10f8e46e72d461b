"""open_lth interop: its ``mask.pth`` and ``model_ep*_it*.pth`` files.

open_lth (facebookresearch/open_lth) saves a model as ``torch.save`` of its
``state_dict()`` (``model_ep<E>_it<I>.pth``) and a level's mask as
``torch.save`` of ``{name: int tensor of 0/1}`` over the prunable weights
(``mask.pth``). Its models and the lth-jax model each maps to:

* ``mnist_lenet_<N1>[_<N2>...]`` -> ``mlp(hidden=(N1, ...))``
  (``lenet300_100`` for 300, 100): ``fc_layers.<i>`` -> ``hidden_<i>``,
  ``fc`` -> ``output``;
* ``cifar_resnet_<D>[_<W>]`` -> ``resnet_cifar(depth=D, width=W)``:
  ``conv``/``bn`` -> ``conv_0``/``bn_0``; ``blocks.<b>.conv1``, ``bn1``,
  ``conv2``, ``bn2``, ``shortcut.0``, ``shortcut.1`` -> ``block_<s>_<k>/``
  ``conv_0``, ``bn_0``, ``conv_1``, ``bn_1``, ``conv_shortcut``,
  ``bn_shortcut`` (``b = s * (D - 2) / 6 + k``); ``fc`` -> ``output``;
* ``cifar_vgg_<N>`` -> ``vgg<N>``: ``layers.<j>.conv``/``.bn`` (``j``
  counts the max pools too) -> ``conv_<i>``/``bn_<i>``; ``fc`` -> ``output``.

Within a module, ``weight`` is a kernel (transposed as in
``torch_format``), a batch norm's ``scale``, ``running_mean``/``var`` go to
``batch_stats``; ``num_batches_tracked`` is dropped on import and written
as 0. Reading and writing ``.pth`` files needs PyTorch (the ``[bench]``
extra); files are written atomically.
"""
import io
import os
import pathlib
import re
from typing import Any

import numpy as np

from lth_jax import errors
from lth_jax import files
from lth_jax.export import ticket as ticket_lib
from lth_jax.export import torch_format
from lth_jax.models import conv as conv_lib

_TORCH_LEAF = {'weight': 'kernel', 'bias': 'bias'}
_BN_LEAF = {'weight': ('params', 'scale'), 'bias': ('params', 'bias'),
            'running_mean': ('batch_stats', 'mean'),
            'running_var': ('batch_stats', 'var')}
_RESNET_PARTS = {'conv1': 'conv_0', 'bn1': 'bn_0', 'conv2': 'conv_1',
                 'bn2': 'bn_1', 'shortcut.0': 'conv_shortcut',
                 'shortcut.1': 'bn_shortcut'}


def _torch():
  try:
    import torch  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise errors.DependencyError(
        'open_lth files are PyTorch pickles: install torch '
        "(pip install 'lth_jax[bench]').") from e
  return torch


def lth_model(name: str) -> tuple[str, dict[str, Any]]:
  """The lth-jax model (name, kwargs) of an open_lth model name.

  >>> lth_model('mnist_lenet_300_100')
  ('lenet300_100', {})
  >>> lth_model('cifar_resnet_20_32')
  ('resnet_cifar', {'depth': 20, 'width': 32})
  """
  parts = name.split('_')
  nums = [int(p) for p in parts[2:] if p.isdigit()]
  if name.startswith('mnist_lenet_') and nums and len(nums) == len(parts) - 2:
    return ('lenet300_100', {}) if nums == [300, 100] else (
        'mlp', {'hidden': nums})
  if name.startswith('cifar_resnet_') and len(nums) in (1, 2) and len(
      nums) == len(parts) - 2 and nums[0] > 2 and (nums[0] - 2) % 6 == 0:
    return 'resnet_cifar', {'depth': nums[0],
                            'width': nums[1] if len(nums) == 2 else 16}
  if name.startswith('cifar_vgg_') and nums and nums[0] in conv_lib.VGG_PLANS:
    return f'vgg{nums[0]}', {}
  raise errors.InputError(f'unknown open_lth model {name!r}; known: '
                   'mnist_lenet_<N1>[_<N2>...], cifar_resnet_<D>[_<W>], '
                   'cifar_vgg_<11|13|16|19>.')


def _module_path(model: str, module: str) -> str | None:
  """open_lth module name -> lth-jax module path (None: not a module)."""
  if module == 'fc':
    return 'output'
  if m := re.fullmatch(r'fc_layers\.(\d+)', module):
    return f'hidden_{m.group(1)}'
  if model.startswith('cifar_resnet_'):
    if module in ('conv', 'bn'):
      return f'{module}_0'
    if m := re.fullmatch(r'blocks\.(\d+)\.(conv1|bn1|conv2|bn2|shortcut\.'
                         r'[01])', module):
      per_stage = (int(model.split('_')[2]) - 2) // 6
      b = int(m.group(1))
      return (f'block_{b // per_stage}_{b % per_stage}/'
              f'{_RESNET_PARTS[m.group(2)]}')
  if model.startswith('cifar_vgg_'):
    if m := re.fullmatch(r'layers\.(\d+)\.(conv|bn)', module):
      plan = conv_lib.VGG_PLANS[int(model.split('_')[2])]
      j = int(m.group(1))
      if j < len(plan) and plan[j] != 'M':
        i = sum(s != 'M' for s in plan[:j])
        return f'{m.group(2)}_{i}'
  return None


def flax_path(model: str, name: str) -> str | None:
  """The lth-jax variable path of an open_lth tensor name; None for
  ``num_batches_tracked``.

  >>> flax_path('cifar_resnet_20', 'blocks.3.shortcut.1.running_var')
  'batch_stats/block_1_0/bn_shortcut/var'
  >>> flax_path('mnist_lenet_300_100', 'fc_layers.1.weight')
  'params/hidden_1/kernel'

  Raises:
    ValueError: the name is not one of the model's tensors.
  """
  module, _, leaf = name.rpartition('.')
  path = _module_path(model, module)
  if leaf == 'num_batches_tracked' and path:
    return None
  is_bn = path is not None and path.split('/')[-1].startswith('bn')
  table = _BN_LEAF if is_bn else {k: ('params', v)
                                  for k, v in _TORCH_LEAF.items()}
  if path is None or leaf not in table:
    raise errors.InputError(f'tensor {name!r} is not a layer of open_lth model '
                     f'{model!r}: check the model name (the file may come '
                     'from another model).')
  collection, flax_leaf = table[leaf]
  return f'{collection}/{path}/{flax_leaf}'


def _load_pth(path: pathlib.Path) -> dict[str, np.ndarray]:
  torch = _torch()
  try:
    state = torch.load(path, map_location='cpu', weights_only=True)
  except Exception as e:  # pylint: disable=broad-except  (torch's own errors)
    raise errors.UnreadableFileError(
        f'{path} is not a whole PyTorch file ({type(e).__name__}: '
        f'{str(e).splitlines()[0] if str(e) else ""}); copy it '
        'again from the open_lth run.') from e
  if not isinstance(state, dict):
    raise errors.UnreadableFileError(
        f'{path} holds a {type(state).__name__}, not a state '
        'dict: pass an open_lth mask.pth or model_ep*_it*.pth.')
  return {k: v.numpy() for k, v in state.items()}


def _model_shapes(model: str) -> dict[str, tuple[int, ...]]:
  import jax  # pylint: disable=import-outside-toplevel
  from lth_jax import models  # pylint: disable=import-outside-toplevel
  name, kwargs = lth_model(model)
  shape = (1, 28, 28, 1) if model.startswith('mnist') else (1, 32, 32, 3)
  shapes = jax.eval_shape(models.get_model(name, **kwargs).init,
                          jax.random.key(0), np.zeros(shape, np.float32))
  return {p: s.shape for p, s in ticket_lib.flat_paths(shapes).items()}


def read(model: str, checkpoint: str | os.PathLike,
         mask: str | os.PathLike | None = None
         ) -> tuple[dict[str, Any], dict[str, Any] | None]:
  """Reads open_lth files into lth-jax ``(variables, masks)``.

  Args:
    model: the open_lth model name (``mnist_lenet_300_100``, ...).
    checkpoint: a ``model_ep<E>_it<I>.pth``.
    mask: the level's ``mask.pth``, or None.

  Returns:
    ``variables`` (``{'params': ..., ['batch_stats': ...]}``, nested dicts
    of NumPy arrays in Flax layouts) and ``masks`` over ``params`` (bool
    kernels; None where open_lth's mask has no entry), or None.

  Raises:
    ValueError: a tensor name, shape or mask value does not fit the model.
    OSError: a file is missing, truncated or not a PyTorch state dict.
  """
  want = _model_shapes(model)
  state = _load_pth(pathlib.Path(checkpoint))
  flat = {}
  for name, value in state.items():
    try:
      path = flax_path(model, name)
    except ValueError as e:
      raise errors.InputError(f'{checkpoint}: {e}') from None
    if path is None:
      continue
    if path not in want:
      raise errors.InputError(
          f'tensor {name!r} of {checkpoint} maps to {path!r}, '
          f'which {model} lacks: check the model name.')
    flat[path] = torch_format.from_torch_layout(path, value, want[path])
  missing = sorted(set(want) - set(flat))
  if missing:
    raise errors.InputError(
        f'{checkpoint} lacks {len(missing)} tensors of {model} '
        f'(first: {missing[0]!r}): check the model name.')
  variables = ticket_lib.unflatten(flat)
  if mask is None:
    return variables, None
  masks = {p: None for p in flat if p.startswith('params/')}
  for name, value in _load_pth(pathlib.Path(mask)).items():
    try:
      path = flax_path(model, name)
    except ValueError:
      path = None
    if path is None or not path.endswith('/kernel') or path not in want:
      raise errors.InputError(f'{mask} masks {name!r}, which is not a prunable '
                       f'weight of {model}: the mask is not this model\'s.')
    if not np.isin(value, (0, 1)).all():
      raise errors.InputError(
          f'{mask} entry {name!r} holds values other than 0 '
          'and 1: not an open_lth mask.')
    masks[path] = torch_format.from_torch_layout(path, value, want[path]
                                                 ).astype(bool)
  return variables, ticket_lib.unflatten(
      {p[len('params/'):]: m for p, m in masks.items()})


def import_ticket(model: str, checkpoint: str | os.PathLike,
                  mask: str | os.PathLike, out: str | os.PathLike) -> int:
  """Writes open_lth files as an lth-jax ticket (``ticket.save_ticket``):
  ``load_ticket`` + ``runs.to_flax`` then give the Flax model, and the
  masks feed this project's analyses. Returns the ticket's bytes."""
  variables, masks = read(model, checkpoint, mask)
  name, kwargs = lth_model(model)
  shape = [28, 28, 1] if model.startswith('mnist') else [32, 32, 3]
  return ticket_lib.save_ticket(
      out, variables, masks, model=name, model_kwargs=kwargs,
      config={'open_lth_model': model, 'checkpoint': str(checkpoint),
              'input_shape': shape})


def open_lth_name(model: str, path: str) -> str:
  """The inverse of ``flax_path`` (by search over the model's names)."""
  for name in _names(model):
    if flax_path(model, name) == path:
      return name
  raise errors.InputError(f'{path!r} has no open_lth name in {model}.')


def _names(model: str) -> list[str]:
  """Every open_lth tensor name of a model (buffers included)."""
  shapes = _model_shapes(model)
  names = []
  for module in _candidate_modules(model):
    for leaf in ('weight', 'bias', 'running_mean', 'running_var',
                 'num_batches_tracked'):
      probe = 'running_var' if leaf == 'num_batches_tracked' else leaf
      try:
        if flax_path(model, f'{module}.{probe}') in shapes:
          names.append(f'{module}.{leaf}')
      except ValueError:
        continue
  return names


def _candidate_modules(model: str) -> list[str]:
  if model.startswith('mnist_lenet_'):
    n = len(model.split('_')) - 2
    return [f'fc_layers.{i}' for i in range(n)] + ['fc']
  if model.startswith('cifar_resnet_'):
    blocks = 3 * (int(model.split('_')[2]) - 2) // 6
    return ['conv', 'bn'] + [f'blocks.{b}.{p}' for b in range(blocks)
                             for p in _RESNET_PARTS] + ['fc']
  plan = conv_lib.VGG_PLANS[int(model.split('_')[2])]
  return [f'layers.{j}.{p}' for j, s in enumerate(plan) if s != 'M'
          for p in ('conv', 'bn')] + ['fc']


def write(out_dir: str | os.PathLike, model: str, variables: dict[str, Any],
          masks: Any = None, step: str = 'ep0_it0') -> list[pathlib.Path]:
  """Writes ``model_<step>.pth`` (and ``mask.pth``) in open_lth's layout.

  Returns the files written (each atomically).
  """
  torch = _torch()
  lth_model(model)  # Validates the name.
  if not re.fullmatch(r'ep\d+_it\d+', step):
    raise errors.InputError(f'step {step!r} is not ep<E>_it<I> (e.g. ep0_it0).')
  flat = {p: np.asarray(v) for p, v in ticket_lib.flat_paths(variables).items()
          if v is not None}
  want = _model_shapes(model)
  if set(flat) != set(want):
    extra = sorted(set(flat) ^ set(want))
    raise errors.InputError(
        f'the variables are not {model}\'s: {extra[0]!r} is in '
        'one but not the other.')
  state, mask_state = {}, {}
  flat_masks = ticket_lib.variable_masks(variables, masks or {})
  for name in _names(model):
    path = flax_path(model, name)
    if path is None:
      state[name] = torch.zeros((), dtype=torch.int64)
      continue
    state[name] = torch.from_numpy(torch_format.to_torch_layout(
        path, flat[path]))
    m = flat_masks.get(path)
    if masks is not None and path.endswith('/kernel'):
      m = np.ones(flat[path].shape, bool) if m is None else np.asarray(m)
      mask_state[name] = torch.from_numpy(torch_format.to_torch_layout(
          path, m).astype(np.int32))
  out_dir = pathlib.Path(out_dir)
  written = [(out_dir / f'model_{step}.pth', state)]
  if masks is not None:
    written.append((out_dir / 'mask.pth', mask_state))
  for path, obj in written:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    files.write_bytes_atomic(path, buffer.getvalue())
  return [p for p, _ in written]
