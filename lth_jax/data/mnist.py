"""MNIST and Fashion-MNIST: raw IDX files offline, tensorflow-datasets online."""
from typing import Any

import numpy as np

from lth_jax.data import dataset
from lth_jax.data import idx
from lth_jax.data import raw_files
from lth_jax.data import registry
from lth_jax.data import tfds_source

FILES = ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz',
         't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz')

SHA256 = {
    'mnist': (
        '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
        '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
        '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
        'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6'),
    'fashion_mnist': (
        '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84',
        'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845',
        '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073',
        '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5'),
}


def normalize(images: np.ndarray) -> np.ndarray:
  """uint8 ``[N, 28, 28]`` -> float32 ``[N, 28, 28, 1]`` in [0, 1]."""
  return (images.astype(np.float32) / 255.0)[..., None]


def read_raw(name: str, root: Any) -> tuple[np.ndarray, ...]:
  """(train_images, train_labels, test_images, test_labels) as uint8 arrays."""
  root_path = raw_files.data_root(root)
  if root_path is None:
    raise raw_files.DataFileError(
        f'no data root for {name!r}: '
        + raw_files.how_to_provide(name, name))
  arrays = []
  for fname, digest in zip(FILES, SHA256[name]):
    path = raw_files.checked_file(root_path, name, name, fname, digest)
    arrays.append(idx.read_idx(path))
  return tuple(arrays)


def load(name: str, data_config: Any) -> dataset.Dataset:
  """Loads ``name`` from raw files or tfds, per ``data_config.source``."""
  source = tfds_source.resolve_source(data_config, name)
  if source == 'raw':
    train_x, train_y, test_x, test_y = read_raw(name, data_config.root)
  else:
    train_x, train_y, test_x, test_y = tfds_source.load_arrays(
        name, data_config)
    train_x, test_x = train_x[..., 0], test_x[..., 0]
  return dataset.hold_out(
      name, 10, normalize(train_x), train_y.astype(np.int32),
      normalize(test_x), test_y.astype(np.int32),
      data_config.validation_size)


@registry.register_dataset('mnist')
def load_mnist(data_config: Any) -> dataset.Dataset:
  return load('mnist', data_config)


@registry.register_dataset('fashion_mnist')
def load_fashion_mnist(data_config: Any) -> dataset.Dataset:
  return load('fashion_mnist', data_config)
