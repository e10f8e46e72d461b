"""tensorflow-datasets as a source (imported lazily; TensorFlow is optional)."""
import os
from typing import Any

import numpy as np

from lth_jax import errors
from lth_jax.data import raw_files

SOURCES = ('auto', 'raw', 'tfds')


def resolve_source(data_config: Any, name: str) -> str:
  """Which source ``'auto'`` means for data set ``name``.

  'raw' where ``data.root`` is given (a missing file there is then named in
  the error, never silently downloaded) or ``$LTH_DATA_DIR`` holds the data
  set's folder; 'tfds' otherwise.
  """
  source = data_config.source
  if source not in SOURCES:
    raise errors.InputError(
        f'unknown data source {source!r}; known: {SOURCES}.')
  if source != 'auto':
    return source
  if data_config.root:
    return 'raw'
  root = raw_files.data_root(None)
  return 'raw' if root is not None and (root / name).is_dir() else 'tfds'


_READ_BATCH = 10_000

#: Data sets whose tfds example keys are the indices in the raw files.
INDEX_KEYED = ('mnist', 'fashion_mnist')


def canonical_order(name: str, split: str, examples: dict[str, Any]
                    ) -> np.ndarray | None:
  """Indices that put a tfds split back into the raw files' order, or None.

  tfds stores the examples of a split sorted by an md5 hash of their keys
  (salted with the split name). Data sets with an ``id`` feature (CIFAR-10's
  'train_00042') are sorted by it; for ``INDEX_KEYED`` data sets, whose keys
  are the raw file indices, the hash order is recomputed and inverted.
  None: the order is left as tfds stores it.
  """
  if 'id' in examples:
    return np.argsort(np.asarray(examples['id']), kind='stable')
  if name not in INDEX_KEYED:
    return None
  from tensorflow_datasets.core import hashing  # pylint: disable=import-outside-toplevel
  hasher = hashing.Hasher(split)
  n = len(next(iter(examples.values())))
  stored_keys = sorted(range(n), key=hasher.hash_key)
  return np.argsort(np.asarray(stored_keys, np.int64))


def load_arrays(name: str, data_config: Any, manual_dir: str | None = None
                ) -> tuple[np.ndarray, ...]:
  """(train_images, train_labels, test_images, test_labels) through tfds.

  ``manual_dir`` (or ``config.data.tfds_manual_dir``) lets tfds build the data
  set offline from already downloaded raw files, named as tfds's checksum
  list names them (for MNIST: the four canonical ``*-ubyte.gz`` files). The
  examples come in the raw files' order (see ``canonical_order``), so the
  validation hold-out is the same as with raw files.
  """
  try:
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise errors.DependencyError(
        f'loading {name!r} through tensorflow-datasets needs TensorFlow: '
        "pip install 'lth_jax[tfds]', or use raw files offline "
        f"(config.data.source='raw', {raw_files.DATA_DIR_ENV}=<root>).") from e
  manual_dir = manual_dir or data_config.get('tfds_manual_dir') or None
  download_config = tfds.download.DownloadConfig(manual_dir=manual_dir)
  data_dir = data_config.get('tfds_data_dir') or os.environ.get('TFDS_DATA_DIR')
  builder = tfds.builder(name, data_dir=data_dir)
  builder.download_and_prepare(download_config=download_config)
  image_key, label_key = builder.info.supervised_keys
  # Shards read one after the other, in order: the order tfds stored.
  read_config = tfds.ReadConfig(interleave_cycle_length=1)
  arrays = []
  for split in ('train', 'test'):
    # Batches rather than batch_size=-1, which needs the split sizes that a
    # builder mocked by tfds.testing.mock_data does not know.
    batches = list(tfds.as_numpy(builder.as_dataset(
        split=split, batch_size=_READ_BATCH, shuffle_files=False,
        read_config=read_config)))
    examples = {k: np.concatenate([b[k] for b in batches])
                for k in batches[0]}
    images = np.asarray(examples[image_key])
    labels = np.asarray(examples[label_key])
    order = None
    if not builder.info.disable_shuffling:
      order = canonical_order(name, split, examples)
    if order is not None:
      images, labels = images[order], labels[order]
    arrays += [images, labels]
  return tuple(arrays)
