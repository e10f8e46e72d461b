"""One level of a run, exported in any format, with a one-line summary.

``export(run_dir, level, fmt, out)`` writes (atomically):

* ``ticket``: the compact checksummed ticket (``ticket.save_ticket``);
* ``slim``: the slimmed MLP (``slim``) as a ticket of model ``mlp`` with
  no masks; ``config['inputs']`` lists the input features it reads;
* ``torch``: a safetensors file in ``torch.nn.utils.prune`` names
  (``layout='plain'``: a pruned state dict), see ``torch_format``;
* ``open_lth``: a directory with ``model_<step>.pth`` and ``mask.pth`` in
  open_lth's layout (``open_lth``);
* ``nm24``: a safetensors file of 2:4 values + metadata (``sparse24``).

and returns a summary: bytes, kept weights, units slimming removes (MLPs),
and the sha256 of what was written.
"""
import hashlib
import os
import pathlib
import tempfile
from typing import Any

import numpy as np

from lth_jax import errors
from lth_jax import files
from lth_jax.export import open_lth
from lth_jax.export import runs
from lth_jax.export import slim as slim_lib
from lth_jax.export import slim_text
from lth_jax.export import sparse24
from lth_jax.export import ticket as ticket_lib
from lth_jax.export import torch_format

FORMATS = ('ticket', 'slim', 'torch', 'open_lth', 'nm24')
SUFFIX = {'ticket': '.lth', 'slim': '.slim.lth', 'torch': '.safetensors',
          'open_lth': '', 'nm24': '.nm24.safetensors'}

#: lth-jax model -> open_lth model name.
OPEN_LTH_NAMES = {'lenet300_100': 'mnist_lenet_300_100',
                  'resnet20': 'cifar_resnet_20', 'resnet56':
                  'cifar_resnet_56', 'resnet110': 'cifar_resnet_110',
                  **{f'vgg{d}': f'cifar_vgg_{d}' for d in (11, 13, 16, 19)}}


def _sha256(paths: list[pathlib.Path]) -> str:
  digest = hashlib.sha256()
  for p in sorted(paths):
    digest.update(p.read_bytes())
  return digest.hexdigest()


def _slim_units(t: ticket_lib.Ticket) -> dict[str, Any] | None:
  """What slimming removes (MLPs, text CNNs); None for other models."""
  params, masks = t.dense()['params'], t.masks()['params']
  if t.model == 'text_cnn_ensemble':
    s = slim_text.slim_text(params, masks)
    return {'slim': s, **slim_text.text_report(params, masks, s)}
  try:
    s = slim_lib.slim_mlp(params, masks)
  except ValueError:
    return None
  return {'slim': s, **slim_lib.report(params, masks, s)}


def export(run_dir: str | os.PathLike, level: int, fmt: str,
           out: str | os.PathLike, *, replicate: int = 0,
           weights: str = 'trained', layout: str = 'prune',
           input_shape: tuple[int, ...] | None = None,
           step: str = 'ep0_it0') -> dict[str, Any]:
  """Writes one level of a run as ``fmt``; returns the summary."""
  if fmt not in FORMATS:
    raise errors.InputError(f'unknown format {fmt!r}; known: {FORMATS}.')
  out = pathlib.Path(out)
  with tempfile.TemporaryDirectory() as tmp:
    ticket_path = pathlib.Path(tmp) / 't.lth'
    runs.export_level(run_dir, replicate, level, ticket_path,
                      weights=weights, input_shape=input_shape)
    t = ticket_lib.load_ticket(ticket_path)
    if fmt == 'ticket':
      files.write_bytes_atomic(out, ticket_path.read_bytes())
  units = _slim_units(t)
  written = [out]
  if fmt == 'slim':
    if units is None or not isinstance(units['slim'], slim_lib.SlimMLP):
      raise errors.InputError(
          f'model {t.model!r} is not an MLP: the slim file format takes '
          'lth_jax.models.mlp networks (lenet300_100, mlp); a text CNN '
          'slims in memory (lth_jax.export.slim_text).')
    s = units['slim']
    ticket_lib.save_ticket(
        out, {'params': {n: {'kernel': k, 'bias': b} for n, k, b in zip(
            [f'hidden_{i}' for i in range(len(s.units))] + ['output'],
            s.kernels, s.biases)}}, {}, model='mlp',
        model_kwargs={'hidden': [len(u) for u in s.units],
                      'num_classes': int(s.kernels[-1].shape[1])},
        config={**t.config, 'input_shape': [len(s.inputs)],
                'inputs': s.inputs.tolist(), 'num_inputs': s.num_inputs})
  elif fmt == 'torch':
    torch_format.save_torch(out, t, layout)
  elif fmt == 'nm24':
    from safetensors import numpy as st_numpy  # pylint: disable=import-outside-toplevel
    files.write_bytes_atomic(out, st_numpy.save(
        sparse24.compressed_tensors(t.leaves), metadata={'lth_model':
                                                         t.model}))
  elif fmt == 'open_lth':
    name = OPEN_LTH_NAMES.get(t.model)
    if name is None:
      raise errors.InputError(f'model {t.model!r} has no open_lth counterpart; '
                       f'known: {sorted(OPEN_LTH_NAMES)}.')
    written = open_lth.write(out, name, t.dense(), t.masks()['params'],
                             step)
  prunable = sum(m.size for _, m in t.leaves.values() if m is not None)
  summary = {
      'format': fmt, 'out': str(out), 'level': level,
      'bytes': sum(p.stat().st_size for p in written),
      'dense_f32_bytes': int(sum(np.asarray(v).nbytes
                                 for v, _ in t.leaves.values())),
      'kept': t.kept(), 'prunable': int(prunable),
      'sha256': _sha256(written)}
  if units is not None:
    summary.update(units_removed=units['units_removed'],
                   params_removed=units['params_removed'])
  return summary


def summary_line(s: dict[str, Any]) -> str:
  """The one-line summary the command line prints.

  >>> summary_line({'format': 'ticket', 'out': 'a.lth', 'level': 3,
  ...               'bytes': 2000, 'dense_f32_bytes': 8000, 'kept': 5,
  ...               'prunable': 10, 'sha256': 'ab' * 32})
  'ticket level 3 -> a.lth: 2,000 bytes (25.0 % of dense float32), kept 5 of 10 weights (50.00 %), sha256 abababababababab'
  """
  line = (f'{s["format"]} level {s["level"]} -> {s["out"]}: {s["bytes"]:,} '
          f'bytes ({100 * s["bytes"] / s["dense_f32_bytes"]:.1f} % of dense '
          f'float32), kept {s["kept"]:,} of {s["prunable"]:,} weights '
          f'({100 * s["kept"] / s["prunable"]:.2f} %)')
  if 'units_removed' in s:
    line += (f', slimming removes units {s["units_removed"]} '
             f'({s["params_removed"]:,} params)')
  return line + f', sha256 {s["sha256"][:16]}'
