"""The IDX reader and raw-file checks on small generated files."""
import gzip
import struct

import ml_collections
import numpy as np
import pytest

from lth_jax import data
from lth_jax.data import idx
from lth_jax.data import mnist
from lth_jax.data import raw_files


def write_idx(path, array, compress=True):
  header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(
      f'>{array.ndim}I', *array.shape)
  raw = header + array.astype(np.uint8).tobytes()
  path.write_bytes(gzip.compress(raw) if compress else raw)
  return raw


def test_reads_generated_idx(tmp_path):
  a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
  write_idx(tmp_path / 'x-idx3-ubyte.gz', a)
  np.testing.assert_array_equal(idx.read_idx(tmp_path / 'x-idx3-ubyte.gz'), a)
  write_idx(tmp_path / 'y-idx1-ubyte', a[0, 0], compress=False)
  np.testing.assert_array_equal(idx.read_idx(tmp_path / 'y-idx1-ubyte'),
                                a[0, 0])


def test_truncated_and_corrupt_idx(tmp_path):
  a = np.ones((4, 5), np.uint8)
  raw = write_idx(tmp_path / 'a.gz', a)
  (tmp_path / 'b.gz').write_bytes(gzip.compress(raw[:-3]))
  with pytest.raises(idx.IdxFormatError, match='truncated'):
    idx.read_idx(tmp_path / 'b.gz')
  (tmp_path / 'c.gz').write_bytes((tmp_path / 'a.gz').read_bytes()[:-6])
  with pytest.raises(idx.IdxFormatError, match='corrupt gzip'):
    idx.read_idx(tmp_path / 'c.gz')
  with pytest.raises(idx.IdxFormatError, match='magic'):
    idx.parse_idx(b'\x01\x02\x08\x01')


def config(root, source='raw'):
  return ml_collections.ConfigDict(dict(
      name='mnist', root=str(root), source=source, validation_size=5000))


def test_missing_file_names_it_and_both_ways(tmp_path):
  (tmp_path / 'mnist').mkdir()
  with pytest.raises(raw_files.DataFileError) as e:
    data.get_dataset(config(tmp_path))
  msg = str(e.value)
  assert 'train-images-idx3-ubyte.gz' in msg
  assert 'LTH_DATA_DIR' in msg and "source='tfds'" in msg


def test_corrupt_file_fails_checksum_at_once(tmp_path):
  folder = tmp_path / 'mnist'
  folder.mkdir()
  for name in mnist.FILES:
    write_idx(folder / name, np.zeros((3, 2, 2), np.uint8))
  with pytest.raises(raw_files.DataFileError, match='corrupt or truncated'):
    data.get_dataset(config(tmp_path))


def test_no_root_at_all_is_a_clear_error(monkeypatch):
  monkeypatch.delenv(raw_files.DATA_DIR_ENV, raising=False)
  with pytest.raises(raw_files.DataFileError, match='no data root'):
    mnist.read_raw('mnist', '')


def test_real_mnist_splits():
  from conftest import real_data_root  # pylint: disable=import-outside-toplevel
  root = real_data_root('mnist')
  ds = data.get_dataset(config(root))
  assert ds.train_images.shape == (55000, 28, 28, 1)
  assert ds.val_images.shape == (5000, 28, 28, 1)
  assert ds.test_images.shape == (10000, 28, 28, 1)
  assert ds.train_images.dtype == np.float32 and ds.train_images.max() == 1.0
  assert np.bincount(ds.test_labels).tolist()[:2] == [980, 1135]
