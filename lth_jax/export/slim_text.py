"""Slimming a text-CNN ticket (``lth_jax.models.text``): fewer filters.

The ensemble (one shared embedding ``[V, D]``; module ``i``: a 1-D conv
with ``F`` filters of width ``w_i``, average pooling of ``p_i``, the mean
over time; the ``M * F`` features concatenated; the dense ``output``) has
no nonlinearity before ``output``, so the MLP rules of ``slim`` become:

* a filter whose ``output`` row is wholly pruned (*inactive*) is removed
  with its conv weights;
* a filter that no kept weight feeds (*zombie*: its taps are pruned, or
  read only embedding columns pruned for every word) outputs its bias at
  every position, so its feature is that bias: it is removed and ``bias *
  output row`` is folded into the output bias (exact up to float rounding);
* an embedding column that no kept tap of a kept filter reads is dropped,
  and a module with no kept filter is skipped.

Vocabulary rows stay (token ids index them). ``slim_text_forward`` runs
the result (jit-able); logits equal the masked model's up to float
reassociation (``tests/export/test_text_paths.py``).
"""
import re
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import errors
from lth_jax.export import slim
from lth_jax.models import text

_CONV = re.compile(r'^conv_(\d+)$')


class TextLayers(NamedTuple):
  """A text-CNN ticket's layers, masked (pruned weights are zeros).

  ``*_masks`` are bool and mirror their weights; ``pools[i]`` is module
  ``i``'s average-pool size.
  """
  embedding: np.ndarray
  embedding_mask: np.ndarray
  kernels: list[np.ndarray]
  kernel_masks: list[np.ndarray]
  biases: list[np.ndarray]
  pools: list[int]
  out_kernel: np.ndarray
  out_mask: np.ndarray
  out_bias: np.ndarray


class SlimText(NamedTuple):
  """A slimmed text CNN.

  Attributes:
    dims: int ``[D']``: the embedding columns kept.
    embedding: ``[V, D']`` (pruned entries zero).
    modules: the original index of every kept module.
    filters: per kept module, int: its kept filters.
    kernels, biases: per kept module, ``[w, D', F']`` and ``[F']``.
    pools: per kept module, the pool size.
    out_kernel: ``[J', C]``: the kept filters' output rows, in order.
    out_bias: ``[C]``, zombie features folded in.
  """
  dims: np.ndarray
  embedding: np.ndarray
  modules: list[int]
  filters: list[np.ndarray]
  kernels: list[np.ndarray]
  biases: list[np.ndarray]
  pools: list[int]
  out_kernel: np.ndarray
  out_bias: np.ndarray


def text_layers(params: dict[str, Any], masks: Any) -> TextLayers:
  """The layers of a ``TextCNNEnsemble``'s params and masks, masked.

  Raises:
    InputError: the params are not a shared-embedding text CNN's, or a
      mask does not fit its weight.
  """
  convs = sorted(int(m.group(1)) for m in map(_CONV.match, params) if m)
  if ('embedding' not in params or 'output' not in params or not convs
      or convs != list(range(len(convs)))):
    raise errors.InputError(
        'params are not a text CNN\'s (embedding, conv_0..conv_<M-1>, '
        f'output; they hold {sorted(params)[:6]}): text slimming takes '
        'text_cnn_ensemble with a shared embedding.')
  embedding, embedding_mask = slim.masked(params, masks, 'embedding',
                                      'embedding')
  kernels, kernel_masks, biases = [], [], []
  for i in convs:
    k, m = slim.masked(params, masks, f'conv_{i}', 'kernel')
    if k.ndim != 3 or k.shape[1] != embedding.shape[1]:
      raise errors.InputError(
          f'conv_{i}/kernel is {k.shape}: a text CNN\'s is [width, '
          f'{embedding.shape[1]}, filters].')
    kernels.append(k)
    kernel_masks.append(m)
    biases.append(np.asarray(params[f'conv_{i}']['bias']))
  out_kernel, out_mask = slim.masked(params, masks, 'output', 'kernel')
  features = sum(k.shape[2] for k in kernels)
  if out_kernel.shape[0] != features:
    raise errors.InputError(
        f'output/kernel takes {out_kernel.shape[0]} features but the '
        f'{len(convs)} convolutions give {features}.')
  return TextLayers(embedding, embedding_mask, kernels, kernel_masks,
                    biases, [text.pool_size(i, len(convs)) for i in convs],
                    out_kernel, out_mask,
                    np.asarray(params['output']['bias']))


def slim_text(params: dict[str, Any], masks: Any) -> SlimText:
  """Removes inactive and zombie filters and unread columns (module doc)."""
  t = text_layers(params, masks)
  live = t.embedding_mask.any(axis=0)  # columns some word keeps
  rows = np.cumsum([0] + [k.shape[2] for k in t.kernels])
  out_bias = t.out_bias.astype(np.float64)
  kept_filters, read = [], np.zeros(len(live), bool)
  for i, m in enumerate(t.kernel_masks):
    fed = (m & live[None, :, None]).any(axis=(0, 1))
    active = t.out_mask[rows[i]:rows[i + 1]].any(axis=1)
    for f in np.flatnonzero(active & ~fed):  # zombie: its feature is b
      out_bias += t.biases[i][f] * t.out_kernel[rows[i] + f]
    keep = np.flatnonzero(active & fed)
    kept_filters.append(keep)
    read |= (m[:, :, keep] & live[None, :, None]).any(axis=(0, 2))
  dims = np.flatnonzero(read)
  modules = [i for i, f in enumerate(kept_filters) if len(f)]
  return SlimText(
      dims, np.ascontiguousarray(t.embedding[:, dims]), modules,
      [kept_filters[i] for i in modules],
      [np.ascontiguousarray(t.kernels[i][:, dims][:, :, kept_filters[i]])
       for i in modules],
      [t.biases[i][kept_filters[i]] for i in modules],
      [t.pools[i] for i in modules],
      np.concatenate([t.out_kernel[rows[i] + kept_filters[i]]
                      for i in modules] or [t.out_kernel[:0]]),
      out_bias.astype(t.out_bias.dtype))


def slim_text_forward(s: SlimText, ids: jax.Array) -> jax.Array:
  """Logits of the slim text CNN on token ids ``[batch, length]``."""
  x = jnp.take(s.embedding, ids, axis=0)
  features = []
  for kernel, bias, pool in zip(s.kernels, s.biases, s.pools):
    y = jax.lax.conv_general_dilated(
        x, kernel, (1,), 'VALID', dimension_numbers=('NWC', 'WIO', 'NWC'))
    y = nn.avg_pool(y + bias, (pool,), strides=(pool,))
    features.append(jnp.mean(y, axis=1))
  h = (jnp.concatenate(features, axis=-1) if features
       else jnp.zeros((ids.shape[0], 0), s.out_kernel.dtype))
  return h @ s.out_kernel + s.out_bias


def text_report(params: dict[str, Any], masks: Any, s: SlimText
                ) -> dict[str, Any]:
  """What slimming removed: embedding columns, filters, parameters."""
  t = text_layers(params, masks)
  before = [t.embedding.shape[1], t.out_kernel.shape[0]]
  after = [len(s.dims), s.out_kernel.shape[0]]
  count = lambda arrays: int(sum(np.size(a) for a in arrays))
  params_before = count([t.embedding, t.out_kernel, t.out_bias,
                         *t.kernels, *t.biases])
  params_after = count([s.embedding, s.out_kernel, s.out_bias, *s.kernels,
                        *s.biases])
  return {
      'units_label': '(embedding columns, filters)',
      'units_before': before, 'units_after': after,
      'units_removed': [a - b for a, b in zip(before, after)],
      'modules_after': len(s.modules),
      'params_before': params_before, 'params_after': params_after,
      'params_removed': params_before - params_after,
      'kept_weights_before': int(
          t.embedding_mask.sum() + t.out_mask.sum()
          + sum(m.sum() for m in t.kernel_masks)),
      'nonzero_weights_after': int(
          (s.embedding != 0).sum() + (s.out_kernel != 0).sum()
          + sum((k != 0).sum() for k in s.kernels))}

