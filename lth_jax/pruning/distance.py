"""Mask distances over training and the early-bird criterion.

* ``distance_matrix``: the normalised Hamming distance (the share of
  prunable positions where two masks differ; ``metrics.hamming_distance``
  for two masks) between every pair of a sequence of masks, in one
  vectorised pass per leaf (integer inner products, exact).
* ``early_bird_step``: the early-bird criterion of You et al. 2020
  ("Drawing early-bird tickets", ICLR 2020), as published in their code: a
  FIFO of the last ``window`` (5) masks; each time a mask is added and the
  FIFO is full, the newest mask is compared with each of the ``window - 1``
  older ones, and the criterion fires when all those distances are
  ``<= threshold`` (0.1). It never fires before ``window`` masks exist.
* ``bn_channel_mask``: the masks the published criterion compares: channels
  whose batch-norm ``|gamma|`` is above one global threshold, the value at
  index ``int(total * percent)`` of all ``|gamma|`` sorted ascending
  (strict ``>``, as in the published code).

Applied to weight-level magnitude masks (models without batch norm, such as
LeNet), the criterion is *our extension*, not the published method; use
``criterion_label`` to label results. Note that the normalised Hamming
distance between two masks that each keep a share ``d`` of the weights is at
most ``2 d``: at ``d <= 0.05`` every pair is within 0.1 and the published
threshold fires as soon as the FIFO is full.
"""
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import errors
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import mask_metrics as metrics
from lth_jax.pruning import tree_paths

PyTree = Any

#: The published criterion's FIFO length and distance threshold.
WINDOW, THRESHOLD = 5, 0.1
#: Batch-norm scale leaves (``gamma``) in Flax models.
BN_SCALE = r'(^|/)(BatchNorm|bn|norm)[^/]*/scale$'
PUBLISHED = 'early-bird (You et al. 2020: batch-norm channel masks)'
EXTENSION = 'early-bird on weight masks (our extension of You et al. 2020)'

mask_distance = metrics.hamming_distance


def criterion_label(channel_masks: bool) -> str:
  """How to label an early-bird result: published or our extension.

  >>> criterion_label(False).endswith('(our extension of You et al. 2020)')
  True
  """
  return PUBLISHED if channel_masks else EXTENSION


def check_window(window: int, threshold: float) -> None:
  """Raises ``ValueError`` unless ``window >= 2`` and ``threshold >= 0``."""
  if int(window) != window or window < 2:
    raise errors.InputError(
        f'early-bird window {window} must be an integer >= 2 '
        '(the published criterion uses 5 masks).')
  if not 0.0 <= threshold <= 1.0:
    raise errors.InputError(
        f'early-bird threshold {threshold} must be in [0, 1] '
        '(a normalised Hamming distance; published: 0.1).')


def _leaf_stack(mask_seq: Sequence[PyTree]) -> list[jax.Array]:
  """Per prunable leaf, the masks of the sequence as ``[t, n]`` int8."""
  if not mask_seq:
    raise errors.InputError(
        'the mask sequence is empty; pass at least one mask.')
  per_mask = [masks_lib.mask_leaves(m) for m in mask_seq]
  if len({len(leaves) for leaves in per_mask}) != 1:
    raise errors.InputError(
        'the masks of the sequence have different structures.')
  return [jnp.stack([jnp.reshape(leaves[i], -1) for leaves in per_mask]
                    ).astype(jnp.int8) for i in range(len(per_mask[0]))]


@jax.jit
def _counts(stacks: list[jax.Array]) -> tuple[jax.Array, jax.Array]:
  """Pairwise differing positions ``[t, t]`` and the total size."""
  diff, size = 0, 0
  for x in stacks:
    kept = jnp.sum(x, axis=1, dtype=jnp.int32)
    inter = jnp.einsum('ik,jk->ij', x, x, preferred_element_type=jnp.int32)
    diff = diff + kept[:, None] + kept[None, :] - 2 * inter
    size += x.shape[1]
  return diff, jnp.asarray(size, jnp.int32)


def distance_matrix(mask_seq: Sequence[PyTree]) -> np.ndarray:
  """The ``[t, t]`` normalised Hamming distances of a sequence of masks.

  Entry ``(i, j)`` is ``hamming_distance(mask_seq[i], mask_seq[j])``: the
  share of all prunable positions (over every non-``None`` leaf) where the
  two masks differ. Counts are exact integers.

  Args:
    mask_seq: mask trees of one structure (``None`` leaves are skipped), or
      channel masks from ``bn_channel_mask``.

  Returns:
    A symmetric float64 array with a zero diagonal.

  >>> m = [{'w': jnp.array([1, 1, 0, 0], bool)},
  ...      {'w': jnp.array([1, 0, 1, 0], bool)}]
  >>> distance_matrix(m).tolist()
  [[0.0, 0.5], [0.5, 0.0]]
  """
  diff, size = jax.device_get(_counts(_leaf_stack(mask_seq)))
  return np.asarray(diff, np.float64) / max(int(size), 1)


def early_bird_from_distances(distances: np.ndarray, window: int = WINDOW,
                              threshold: float = THRESHOLD) -> int | None:
  """The first index at which the early-bird criterion fires, or None.

  At index ``i >= window - 1`` the FIFO holds masks ``i - window + 1 .. i``;
  the criterion fires when ``distances[i, j] <= threshold`` for each of the
  ``window - 1`` older masks ``j``.

  Args:
    distances: a ``[t, t]`` matrix from ``distance_matrix``.
    window: the FIFO length (>= 2; published: 5).
    threshold: the largest allowed distance (published: 0.1).

  Returns:
    The index of the mask whose arrival fires the criterion, or None.

  >>> d = np.abs(np.subtract.outer([0., .5, .55, .6], [0., .5, .55, .6]))
  >>> early_bird_from_distances(d, window=2), early_bird_from_distances(
  ...     d, window=3)
  (2, 3)
  """
  check_window(window, threshold)
  d = np.asarray(distances)
  for i in range(window - 1, d.shape[0]):
    if np.all(d[i, i - window + 1:i] <= threshold):
      return i
  return None


def early_bird_step(mask_seq: Sequence[PyTree], steps: Sequence[int],
                    window: int = WINDOW, threshold: float = THRESHOLD
                    ) -> int | None:
  """The first step at which the early-bird criterion fires, or None.

  Args:
    mask_seq: the masks computed at ``steps`` (e.g. one per epoch, as
      published; channel masks from ``bn_channel_mask``, or weight masks:
      our extension).
    steps: the training step of each mask, increasing.
    window: the FIFO length (>= 2; published: 5).
    threshold: the largest allowed distance (published: 0.1).

  Returns:
    ``steps[i]`` for the first mask ``i`` whose arrival fires the
    criterion; None if it never fires (or fewer than ``window`` masks).

  >>> a, b = jnp.array([1, 1, 0, 0], bool), jnp.array([1, 0, 1, 0], bool)
  >>> early_bird_step([{'w': a}, {'w': b}, {'w': b}], [10, 20, 30], 2)
  30
  """
  check_window(window, threshold)
  if len(mask_seq) != len(steps):
    raise errors.InputError(
        f'{len(mask_seq)} masks but {len(steps)} steps; pass '
        'one step per mask.')
  if list(steps) != sorted(set(steps)):
    raise errors.InputError(f'steps {list(steps)} must be strictly increasing.')
  if len(mask_seq) < window:
    return None
  i = early_bird_from_distances(distance_matrix(mask_seq), window, threshold)
  return None if i is None else int(steps[i])


def previous_distances(distances: np.ndarray) -> np.ndarray:
  """Distance of each mask to the one before it (``nan`` for the first).

  >>> previous_distances(np.array([[0., .3, .4], [.3, 0., .1],
  ...                              [.4, .1, 0.]])).tolist()
  [nan, 0.3, 0.1]
  """
  d = np.asarray(distances, np.float64)
  out = np.full(d.shape[0], np.nan)
  out[1:] = d[np.arange(1, d.shape[0]), np.arange(d.shape[0] - 1)]
  return out


def bn_channel_mask(params: PyTree, percent: float,
                    scales: str = BN_SCALE) -> PyTree:
  """You et al. 2020's channel mask: ``|gamma|`` above one global threshold.

  All batch-norm scales are pooled; the threshold is the value at index
  ``int(total * percent)`` of their ``|gamma|`` sorted ascending, and a
  channel is kept when its ``|gamma|`` is strictly greater (as published).

  Args:
    params: a params tree with batch-norm scale leaves.
    percent: the share of channels to prune, in [0, 1).
    scales: regex over leaf paths selecting the scales.

  Returns:
    A tree like ``params``: bool masks on the scale leaves, None elsewhere.

  >>> p = {'bn0': {'scale': jnp.array([.1, -.9])},
  ...      'bn1': {'scale': jnp.array([.5, .2])}, 'conv': {'kernel': 1.}}
  >>> m = bn_channel_mask(p, 0.25, r'bn\\d/scale$')
  >>> m['bn0']['scale'].tolist(), m['bn1']['scale'].tolist(), m['conv']
  ([False, True], [True, False], {'kernel': None})
  """
  if not 0.0 <= percent < 1.0:
    raise errors.InputError(
        f'channel pruning share {percent} is outside [0, 1).')
  selected = tree_paths.map_with_path(
      lambda path, p: p if masks_lib.is_prunable(path, scales) else None,
      params)
  gammas = [jnp.abs(jnp.reshape(g, -1)) for g in
            masks_lib.mask_leaves(selected)]
  if not gammas:
    raise errors.InputError(
        f'no batch-norm scale matches {scales!r}; paths are: '
        f'{tree_paths.leaf_paths(params)[:8]}. The published '
        'early-bird criterion needs batch norm; use weight '
        'masks (our extension) for other models.')
  pooled = jnp.sort(jnp.concatenate(gammas))
  thre = pooled[int(pooled.shape[0] * percent)]
  return jax.tree.map(lambda g: None if g is None else jnp.abs(g) > thre,
                      selected, is_leaf=lambda x: x is None)
