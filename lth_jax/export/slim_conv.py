"""Slimming Conv-2/4/6 tickets (``lth_jax.models.conv.ConvNet``) by channel.

The MLP rules of ``slim`` lifted to channels: channel ``a`` of one layer
feeds channel ``b`` of the next when any kept weight of the 3x3 kernel
``[:, :, a, b]`` does (for the first dense layer, any spatial position of
the flattened map); a channel no input channel reaches (a *zombie*, e.g. a
filter that channel pruning removed but whose bias lives on) or that
reaches no output (*inactive*) is removed, with its weights. Zombies do
not depend on the input, so their maps are computed once (the network on
an all-zero input) and what they add to the next layer is folded into its
bias. Through a SAME-padded convolution a constant map adds a constant only
away from the borders, so a conv layer may get a *bias map* ``[h, w, c]``
(kept exact) instead of a bias; a dense layer always gets a bias. Output
units are always kept; unread input channels are dropped.

``SlimConv.forward`` runs the smaller network (jit-able), with the same
logits as the masked ConvNet up to float reassociation.
"""
import re
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import errors
from lth_jax.analysis import structure

_CONV = re.compile(r'^conv_(\d+)$')
_DENSE = re.compile(r'^dense_(\d+)$')


class Layer(NamedTuple):
  """One layer: ``kernel`` (HWIO conv or ``[in, out]`` dense), ``bias``
  (``[out]``, or a ``[h, w, out]`` bias map), ``pool`` after the ReLU."""
  kernel: np.ndarray
  bias: np.ndarray
  pool: bool


class SlimConv(NamedTuple):
  """A slimmed ConvNet: kept input channels, layers, kept units per layer."""
  inputs: np.ndarray
  layers: list[Layer]
  units: list[np.ndarray]

  def forward(self, x: jax.Array) -> jax.Array:
    return _forward(self.layers, x[..., self.inputs])[-1]


def _names(params: dict[str, Any]) -> list[str]:
  convs = sorted(int(m.group(1)) for m in map(_CONV.match, params) if m)
  dense = sorted(int(m.group(1)) for m in map(_DENSE.match, params) if m)
  names = [f'conv_{i}' for i in convs] + [f'dense_{i}' for i in dense]
  if not convs or 'output' not in params or any(
      np.ndim(params[n]['kernel']) != 4 for n in names[:len(convs)]):
    raise errors.InputError(
        'params are not a ConvNet\'s (conv_<i> HWIO kernels, '
        f'dense_<i>, output; they hold {sorted(params)}): '
        'channel slimming takes conv2/conv4/conv6.')
  return names + ['output']


def _conv(h: Any, kernel: np.ndarray) -> Any:
  """A stride-1 SAME convolution, NHWC x HWIO (NumPy or JAX arrays)."""
  if isinstance(h, jax.Array):
    return jax.lax.conv_general_dilated(
        h, kernel, (1, 1), 'SAME', dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
        precision=jax.lax.Precision.HIGHEST)
  kh, kw = kernel.shape[:2]
  n, hh, ww, _ = h.shape
  pad = np.pad(h, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2),
                   (0, 0)))
  return sum(np.einsum('nhwc,cd->nhwd', pad[:, i:i + hh, j:j + ww],
                       kernel[i, j]) for i in range(kh) for j in range(kw))


def _forward(layers: list[Layer], x: Any) -> list[Any]:
  """Per layer, its output after ReLU and pooling (the input first); NumPy
  in, NumPy out; JAX in (or traced), JAX out."""
  xp = jnp if isinstance(x, jax.Array) else np
  acts = [x]
  for i, layer in enumerate(layers):
    h = acts[-1]
    if layer.kernel.ndim == 4:
      h = _conv(h, layer.kernel) + layer.bias
    else:
      h = xp.reshape(h, (h.shape[0], -1)) @ layer.kernel + layer.bias
    if i < len(layers) - 1:
      h = xp.maximum(h, 0)
    if layer.pool:
      n, hh, ww, c = h.shape
      h = h[:, :hh // 2 * 2, :ww // 2 * 2].reshape(
          n, hh // 2, 2, ww // 2, 2, c).max((2, 4))
    acts.append(h)
  return acts


def _channel_graph(kernel: np.ndarray, mask: np.ndarray, channels: int
                   ) -> np.ndarray:
  """Bool ``[in channels, out]``: which kept weights join them."""
  if mask.ndim == 4:
    return mask.any((0, 1))
  return mask.reshape(-1, channels, kernel.shape[-1]).any(0)


def slim_convnet(params: dict[str, Any], masks: Any,
                 input_shape: tuple[int, ...]) -> SlimConv:
  """Removes zombie and inactive channels and units (module doc).

  Args:
    params: a ConvNet's params.
    masks: its masks (None: never pruned).
    input_shape: one example's ``(h, w, c)`` (for the zombie maps).
  """
  names = _names(params)
  convs = sum(n.startswith('conv_') for n in names)
  masks = masks or {}
  layers, graphs, channels = [], [], input_shape[-1]
  for i, n in enumerate(names):
    kernel = np.asarray(params[n]['kernel'])
    mask = (masks.get(n) or {}).get('kernel')
    mask = np.ones(kernel.shape, bool) if mask is None else np.asarray(
        mask, bool)
    if mask.shape != kernel.shape:
      raise errors.InputError(f'the mask of {n}/kernel is {mask.shape} but the '
                       f'kernel is {kernel.shape}: the masks are not this '
                       "model's; export them from the same run.")
    layers.append(Layer(np.where(mask, kernel, 0).astype(kernel.dtype),
                        np.asarray(params[n]['bias']),
                        i < convs and i % 2 == 1))
    graphs.append(_channel_graph(kernel, mask, channels))
    channels = kernel.shape[-1]
  n_in, n_out = graphs[0].shape[0], graphs[-1].shape[1]
  reached = [r[:, 0] for r in structure.reach_forward(
      graphs, np.ones((n_in, 1), bool))]
  reaching = [r[:, 0] for r in structure.reach_backward(
      graphs, np.ones((n_out, 1), bool))]
  keep = [reaching[0]] + [a & b for a, b in zip(reached[1:-1],
                                                 reaching[1:-1])]
  keep.append(np.ones(n_out, bool))
  zero = _forward(layers, np.zeros((1, *input_shape), np.float32))
  new = []
  for i, layer in enumerate(layers):
    src, dst = keep[i], keep[i + 1]
    zombie = ~reached[i] & ~src
    # What the removed zombies add to this layer, on every input.
    extra = _forward(
        [layer._replace(bias=np.zeros_like(layer.bias), pool=False)],
        zero[i] * zombie)[-1][0][..., dst]
    bias = layer.bias[dst] + extra
    if bias.ndim == 3 and (bias == bias[:1, :1]).all():
      bias = bias[0, 0]
    kernel = layer.kernel
    if kernel.ndim == 4:
      kernel = kernel[:, :, src][..., dst]
    else:
      rows = kernel.shape[0] // src.size
      kernel = kernel.reshape(rows, src.size, -1)[:, src][..., dst].reshape(
          -1, int(dst.sum()))
    new.append(Layer(np.ascontiguousarray(kernel), bias.astype(
        layer.bias.dtype), layer.pool))
  return SlimConv(np.flatnonzero(keep[0]), new,
                  [np.flatnonzero(k) for k in keep[1:-1]])


def report(params: dict[str, Any], slim: SlimConv) -> dict[str, Any]:
  """Channels and units per layer before and after, and parameters."""
  names = _names(params)
  before = [int(params[n]['kernel'].shape[-1]) for n in names]
  after = [int(layer.kernel.shape[-1]) for layer in slim.layers]
  count = lambda ls: int(sum(np.size(k) + np.size(b) for k, b, *_ in ls))
  params_before = count((params[n]['kernel'], params[n]['bias'])
                        for n in names)
  return {'layers': names, 'units_before': before, 'units_after': after,
          'params_before': params_before,
          'params_after': count(slim.layers),
          'params_removed': params_before - count(slim.layers)}
