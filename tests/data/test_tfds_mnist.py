"""MNIST built by tensorflow-datasets offline, from the canonical raw files.

tfds names each download by its URL's file name and, given
``DownloadConfig(manual_dir=...)``, takes a file of that name from the manual
folder instead of downloading it, still checking tfds's registered size and
sha256. The four canonical ``*-ubyte.gz`` files are named exactly so, so the
raw-data folder itself is the manual folder. Building takes ~15 s of CPU.
"""
import ml_collections
import numpy as np
import pytest

from conftest import real_data_root
from lth_jax.data import mnist
from lth_jax.data import tfds_source


def config(**fields):
  c = ml_collections.ConfigDict({
      'name': 'mnist', 'root': '', 'source': 'tfds', 'validation_size': 5000,
      'tfds_data_dir': '', 'tfds_manual_dir': ''})
  c.update(fields)
  return c


def require_tfds():
  """tensorflow_datasets, or skip with the reason printed."""
  try:
    import tensorflow  # pylint: disable=import-outside-toplevel,unused-import
    import tensorflow_datasets  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    reason = f'TensorFlow / tensorflow-datasets not importable ({e}).'
    print(f'SKIP: {reason}')
    pytest.skip(reason)
  return tensorflow_datasets


def test_canonical_order_inverts_the_stored_hash_order():
  require_tfds()
  from tensorflow_datasets.core import hashing  # pylint: disable=import-outside-toplevel
  raw = np.arange(100) * 7
  stored = raw[sorted(range(100), key=hashing.Hasher('train').hash_key)]
  assert not np.array_equal(stored, raw)
  order = tfds_source.canonical_order('mnist', 'train', {'label': stored})
  np.testing.assert_array_equal(stored[order], raw)
  assert tfds_source.canonical_order('imdb_reviews', 'train',
                                     {'label': stored}) is None


def test_tfds_offline_build_equals_raw_files(tmp_path):
  root = real_data_root('mnist')
  require_tfds()
  from_tfds = mnist.load('mnist', config(
      tfds_manual_dir=str(root / 'mnist'), tfds_data_dir=str(tmp_path)))
  from_raw = mnist.load('mnist', config(source='raw', root=str(root)))
  assert (tmp_path / 'mnist').is_dir()  # Built here, not in ~/.
  assert from_tfds.train_images.shape == (55000, 28, 28, 1)
  assert from_tfds.val_images.shape == (5000, 28, 28, 1)
  assert from_tfds.test_labels.shape == (10000,)
  for field in from_raw._fields:
    a, b = getattr(from_tfds, field), getattr(from_raw, field)
    if isinstance(b, np.ndarray):
      assert a.dtype == b.dtype, field
      np.testing.assert_array_equal(a, b, err_msg=field)
    else:
      assert a == b, field
