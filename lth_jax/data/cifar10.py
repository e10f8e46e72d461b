"""CIFAR-10 through tensorflow-datasets, and a generated stand-in for tests.

Both normalise uint8 images per channel with the CIFAR-10 training mean and
standard deviation and hold the last ``validation_size`` training images out
for validation (5,000 in Frankle & Carbin 2019).

Offline, tfds builds CIFAR-10 from ``cifar-10-binary.tar.gz`` placed in
``config.data.tfds_manual_dir`` (checked against tfds's own checksum).
"""
from typing import Any

import numpy as np

from lth_jax import errors
from lth_jax.data import dataset
from lth_jax.data import registry
from lth_jax.data import tfds_source

IMAGE_SHAPE = (32, 32, 3)
NUM_CLASSES = 10

#: Per-channel statistics of the 50,000 CIFAR-10 training images in [0, 1].
MEAN = np.array([0.4914, 0.4822, 0.4465], np.float32)
STD = np.array([0.2470, 0.2435, 0.2616], np.float32)

#: A black (0) pixel after normalisation: torchvision's (and open_lth's)
#: RandomCrop padding colour, for ``augment.random_crop_flip(pad_value=...)``.
NORMALIZED_BLACK = -MEAN / STD


def normalize(images: np.ndarray) -> np.ndarray:
  """uint8 ``[N, 32, 32, 3]`` -> float32, zero mean and unit std per channel.

  >>> normalize(np.full((1, 32, 32, 3), 255, np.uint8))[0, 0, 0].round(2)
  array([2.06, 2.13, 2.12], dtype=float32)
  """
  return (images.astype(np.float32) / 255.0 - MEAN) / STD


def _dataset(name: str, train_x: np.ndarray, train_y: np.ndarray,
             test_x: np.ndarray, test_y: np.ndarray,
             validation_size: int) -> dataset.Dataset:
  return dataset.hold_out(name, NUM_CLASSES, normalize(train_x),
                          train_y.astype(np.int32), normalize(test_x),
                          test_y.astype(np.int32), validation_size)


@registry.register_dataset('cifar10')
def load_cifar10(data_config: Any) -> dataset.Dataset:
  """CIFAR-10 via tfds (50,000 train incl. validation, 10,000 test).

  Reads ``source`` ('auto' or 'tfds'), ``validation_size``,
  ``tfds_data_dir`` and ``tfds_manual_dir``.
  """
  if data_config.source == 'raw':
    raise errors.InputError(
        "cifar10 has no raw-file reader: use config.data.source='tfds' (or "
        "'auto'); offline, put cifar-10-binary.tar.gz in a folder and pass "
        'it as config.data.tfds_manual_dir.')
  train_x, train_y, test_x, test_y = tfds_source.load_arrays(
      'cifar10', data_config)
  return _dataset('cifar10', train_x, train_y, test_x, test_y,
                  data_config.validation_size)


def synthetic_arrays(train_size: int, test_size: int, seed: int
                     ) -> tuple[np.ndarray, ...]:
  """Learnable random CIFAR-shaped uint8 images: class prototype + noise.

  >>> x, y, tx, ty = synthetic_arrays(8, 4, seed=0)
  >>> x.shape, x.dtype, ty.shape
  ((8, 32, 32, 3), dtype('uint8'), (4,))
  """
  rng = np.random.default_rng(seed)
  prototypes = rng.integers(0, 256, (NUM_CLASSES,) + IMAGE_SHAPE)

  def split(n):
    labels = rng.integers(0, NUM_CLASSES, n)
    noise = rng.integers(0, 256, (n,) + IMAGE_SHAPE)
    images = (prototypes[labels] + noise) // 2
    return images.astype(np.uint8), labels.astype(np.int32)

  (train_x, train_y), (test_x, test_y) = split(train_size), split(test_size)
  return train_x, train_y, test_x, test_y


@registry.register_dataset('synthetic_cifar10')
def load_synthetic_cifar10(data_config: Any) -> dataset.Dataset:
  """Generated CIFAR-10 stand-in, normalised as CIFAR-10; no files needed.

  Reads ``synthetic_train_size`` (512, incl. validation),
  ``synthetic_validation_size`` (64), ``synthetic_test_size`` (256) and
  ``synthetic_seed`` (0); ``validation_size`` is ignored, so that CIFAR
  configs run unchanged on it.
  """
  arrays = synthetic_arrays(data_config.get('synthetic_train_size', 512),
                            data_config.get('synthetic_test_size', 256),
                            data_config.get('synthetic_seed', 0))
  return _dataset('synthetic_cifar10', *arrays,
                  validation_size=data_config.get(
                      'synthetic_validation_size', 64))
