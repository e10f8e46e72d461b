"""CIFAR-10: the tfds path (mocked, offline) and the generated stand-in."""
import ml_collections
import numpy as np
import pytest

from lth_jax import data
from lth_jax.data import cifar10

tfds = pytest.importorskip('tensorflow_datasets')


def config(**fields):
  c = ml_collections.ConfigDict({
      'name': 'cifar10', 'root': '', 'source': 'auto', 'validation_size': 5,
      'tfds_data_dir': '', 'tfds_manual_dir': '', 'synthetic_train_size': 40,
      'synthetic_validation_size': 8, 'synthetic_test_size': 16,
      'synthetic_seed': 0})
  c.update(fields)
  return c


def test_registered():
  assert {'cifar10', 'synthetic_cifar10'} <= set(data.all_dataset_names())


def test_normalize_uses_cifar10_statistics():
  images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), np.uint8)
  out = cifar10.normalize(images)
  assert out.dtype == np.float32 and out.shape == images.shape
  np.testing.assert_allclose(out * cifar10.STD + cifar10.MEAN,
                             images / 255.0, atol=1e-6)
  black = cifar10.normalize(np.zeros((1, 1, 1, 3), np.uint8))[0, 0, 0]
  np.testing.assert_allclose(black, cifar10.NORMALIZED_BLACK)


def test_tfds_path_end_to_end_with_mock_data(tmp_path):
  with tfds.testing.mock_data(num_examples=20):
    ds = data.get_dataset(config(tfds_data_dir=str(tmp_path)))
  assert ds.name == 'cifar10' and ds.num_classes == 10
  assert ds.train_images.shape == (15, 32, 32, 3)
  assert ds.val_images.shape == (5, 32, 32, 3)
  assert ds.test_images.shape == (20, 32, 32, 3)
  for images in (ds.train_images, ds.val_images, ds.test_images):
    assert images.dtype == np.float32
    # Normalised uint8 pixels lie between normalised black and white.
    assert np.all(images >= cifar10.normalize(np.zeros(3, np.uint8)) - 1e-6)
    assert np.all(images <= cifar10.normalize(np.full(3, 255, np.uint8))
                  + 1e-6)
  for labels in (ds.train_labels, ds.val_labels, ds.test_labels):
    assert labels.dtype == np.int32
    assert np.all((labels >= 0) & (labels < 10))


def test_tfds_path_keeps_the_id_order(tmp_path):
  """Mocked ids come in random order; examples are sorted back by id."""
  with tfds.testing.mock_data(num_examples=12):
    builder = tfds.builder('cifar10', data_dir=str(tmp_path))
    raw = next(iter(tfds.as_numpy(builder.as_dataset(
        split='train', batch_size=100, shuffle_files=False))))
    x, y, _, _ = data.tfds_source.load_arrays(
        'cifar10', config(tfds_data_dir=str(tmp_path)))
  assert len(raw['id']) == 12
  order = np.argsort(raw['id'], kind='stable')
  assert np.any(order != np.arange(12))  # The mock's ids are not in order.
  np.testing.assert_array_equal(x, raw['image'][order])
  np.testing.assert_array_equal(y, raw['label'][order])


def test_raw_source_is_a_clear_error():
  with pytest.raises(ValueError, match='tfds_manual_dir'):
    data.get_dataset(config(source='raw'))


def test_synthetic_cifar10():
  ds = data.get_dataset(config(name='synthetic_cifar10'))
  assert ds.name == 'synthetic_cifar10' and ds.num_classes == 10
  assert ds.train_images.shape == (32, 32, 32, 3)
  assert ds.val_images.shape == (8, 32, 32, 3)
  assert ds.test_images.shape == (16, 32, 32, 3)
  assert ds.train_images.dtype == np.float32
  assert ds.train_labels.dtype == np.int32
  # Normalised with the CIFAR-10 statistics, like the real data.
  raw = cifar10.synthetic_arrays(40, 16, seed=0)[0][:32]
  np.testing.assert_array_equal(ds.train_images, cifar10.normalize(raw))


def test_synthetic_cifar10_is_seeded():
  a = data.get_dataset(config(name='synthetic_cifar10'))
  b = data.get_dataset(config(name='synthetic_cifar10'))
  c = data.get_dataset(config(name='synthetic_cifar10', synthetic_seed=1))
  for x, y in zip(a, b):
    if isinstance(x, np.ndarray):
      np.testing.assert_array_equal(x, y)
  assert not np.array_equal(a.train_images, c.train_images)


def test_synthetic_cifar10_is_learnable():
  """A nearest-class-mean classifier beats chance by far."""
  ds = data.get_dataset(config(name='synthetic_cifar10',
                               synthetic_train_size=400,
                               synthetic_test_size=200))
  x = ds.train_images.reshape(len(ds.train_images), -1)
  means = np.stack([x[ds.train_labels == k].mean(0) for k in range(10)])
  test = ds.test_images.reshape(len(ds.test_images), -1)
  pred = np.argmin(((test[:, None] - means[None]) ** 2).sum(-1), axis=1)
  assert np.mean(pred == ds.test_labels) > 0.8


def test_synthetic_defaults_without_fields():
  c = ml_collections.ConfigDict({'name': 'synthetic_cifar10'})
  ds = data.get_dataset(c)
  assert len(ds.train_images) + len(ds.val_images) == 512
  assert len(ds.val_images) == 64 and len(ds.test_images) == 256
