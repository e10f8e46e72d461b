"""The in-memory data set every experiment trains on."""
from typing import NamedTuple

import numpy as np

from lth_jax import errors


class Dataset(NamedTuple):
  """Train / validation / test splits as host arrays.

  Images are float32 ``[N, ...]`` (already normalised); labels are int32
  ``[N]`` class indices, or float32 ``[N, C]`` multi-hot targets for
  multi-label data (``multi_label=True``).
  """
  name: str
  num_classes: int
  train_images: np.ndarray
  train_labels: np.ndarray
  val_images: np.ndarray
  val_labels: np.ndarray
  test_images: np.ndarray
  test_labels: np.ndarray
  multi_label: bool = False


def hold_out(name: str, num_classes: int, train_images: np.ndarray,
             train_labels: np.ndarray, test_images: np.ndarray,
             test_labels: np.ndarray, validation_size: int,
             multi_label: bool = False) -> Dataset:
  """Splits the *last* ``validation_size`` training examples off as validation.

  Frankle & Carbin 2019 hold 5,000 MNIST training images out; the last ones
  are taken so that the split is the same for every seed and source.
  """
  n = len(train_images)
  if not 0 <= validation_size < n:
    raise errors.InputError(
        f'validation_size {validation_size} must be in [0, {n}) '
        f'for {name!r} ({n} training examples).')
  cut = n - validation_size
  return Dataset(name, num_classes, train_images[:cut], train_labels[:cut],
                 train_images[cut:], train_labels[cut:], test_images,
                 test_labels, multi_label)
