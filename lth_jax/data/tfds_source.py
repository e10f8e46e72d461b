"""tensorflow-datasets as a source (imported lazily; TensorFlow is optional)."""
import os
from typing import Any

import numpy as np

from lth_jax.data import raw_files

SOURCES = ('auto', 'raw', 'tfds')


def resolve_source(data_config: Any, name: str) -> str:
  """'raw' where raw files are configured (root or $LTH_DATA_DIR), else 'tfds'."""
  source = data_config.source
  if source not in SOURCES:
    raise ValueError(f'unknown data source {source!r}; known: {SOURCES}.')
  if source != 'auto':
    return source
  root = raw_files.data_root(data_config.root)
  return 'raw' if root is not None and (root / name).is_dir() else 'tfds'


def load_arrays(name: str, data_config: Any, manual_dir: str | None = None
                ) -> tuple[np.ndarray, ...]:
  """(train_images, train_labels, test_images, test_labels) through tfds.

  ``manual_dir`` (or ``config.data.tfds_manual_dir``) lets tfds build the data
  set offline from already downloaded raw files.
  """
  try:
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ImportError(
        f'loading {name!r} through tensorflow-datasets needs TensorFlow: '
        "pip install 'lth_jax[tfds]', or use raw files offline "
        f"(config.data.source='raw', {raw_files.DATA_DIR_ENV}=<root>).") from e
  manual_dir = manual_dir or data_config.get('tfds_manual_dir') or None
  download_config = tfds.download.DownloadConfig(manual_dir=manual_dir)
  data_dir = data_config.get('tfds_data_dir') or os.environ.get('TFDS_DATA_DIR')
  splits = tfds.load(name, split=['train', 'test'], batch_size=-1,
                     as_supervised=True, data_dir=data_dir,
                     download_and_prepare_kwargs={
                         'download_config': download_config})
  (train_x, train_y), (test_x, test_y) = tfds.as_numpy(splits)
  return (np.asarray(train_x), np.asarray(train_y), np.asarray(test_x),
          np.asarray(test_y))
