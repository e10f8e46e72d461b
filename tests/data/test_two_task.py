"""Two-task data sets: MNIST + Fashion-MNIST pairs and moons + circles."""
import ml_collections
import numpy as np
import pytest

from lth_jax import data
from lth_jax.analysis import structure
from lth_jax.data import two_task
from conftest import real_data_root


def fake_source(n_train, n_test, offset, seed):
  """uint8 images whose every pixel encodes (source, split, index)."""
  rng = np.random.default_rng(seed)
  out = []
  for split, n in ((0, n_train), (1, n_test)):
    x = np.zeros((n, 28, 28), np.uint8)
    x[:, 0, 0] = offset + split
    x[:, 0, 1] = np.arange(n) % 256
    y = rng.integers(0, 10, n).astype(np.uint8)
    out += [x, y]
  return out


def test_index_pairing_is_side_by_side_and_labelled():
  a, b = fake_source(60, 20, 10, 0), fake_source(50, 30, 100, 1)
  ds = two_task.make_mnist_fashion(
      a, b, two_task.MnistFashionOptions(pairing='index'), 10)
  assert ds.train_images.shape == (40, 28, 56, 1)
  assert ds.val_images.shape == (10, 28, 56, 1)
  assert ds.test_images.shape == (20, 28, 56, 1)
  assert ds.num_classes == 20 and ds.train_labels.dtype == np.int32
  # Left half from MNIST, right half from Fashion, i-th with i-th.
  pix = np.round(ds.train_images[:, 0, :, 0] * 255).astype(int)
  assert (pix[:, 0] == 10).all() and (pix[:, 28] == 100).all()
  np.testing.assert_array_equal(pix[:, 1], np.arange(40))
  np.testing.assert_array_equal(pix[:, 29], np.arange(40))
  np.testing.assert_array_equal(ds.train_labels[:, 0], a[1][:40])
  np.testing.assert_array_equal(ds.train_labels[:, 1], b[1][:40])


def test_key_pairing_is_seeded_and_keeps_labels_with_images():
  a, b = fake_source(60, 20, 10, 0), fake_source(60, 20, 100, 1)
  opts = two_task.MnistFashionOptions(pairing='key', seed=3)
  one = two_task.make_mnist_fashion(a, b, opts, 0)
  two = two_task.make_mnist_fashion(a, b, opts, 0)
  other = two_task.make_mnist_fashion(a, b, opts._replace(seed=4), 0)
  np.testing.assert_array_equal(one.train_images, two.train_images)
  assert not np.array_equal(one.train_images, other.train_images)
  pix = np.round(one.train_images[:, 0, :, 0] * 255).astype(int)
  ia, ib = pix[:, 1], pix[:, 29]
  assert not np.array_equal(ia, ib)  # shuffled independently
  np.testing.assert_array_equal(one.train_labels[:, 0], a[1][ia])
  np.testing.assert_array_equal(one.train_labels[:, 1], b[1][ib])


def test_downsampling_class_subsets_and_examples_per_class():
  a, b = fake_source(200, 50, 10, 0), fake_source(200, 50, 100, 1)
  opts = two_task.MnistFashionOptions(downsample=True, digits=(3, 7),
                                      garments=(0, 1, 2), per_class=4,
                                      pairing='index')
  ds = two_task.make_mnist_fashion(a, b, opts, 0)
  assert ds.train_images.shape[1:] == (14, 28, 1)
  assert ds.num_classes == 5 and opts.head_sizes() == (2, 3)
  assert len(ds.train_images) == 8  # min(2 x 4, 3 x 4)
  assert set(ds.train_labels[:, 0]) == {0, 1}
  assert set(ds.test_labels[:, 1]) <= {0, 1, 2}
  # 2x2 averaging: pixel (0, 0) of the left half is the mean of the
  # top-left block of the MNIST image.
  kept, _ = two_task.select_classes(np.arange(200), a[1], (3, 7), 4)
  np.testing.assert_allclose(ds.train_images[:, 0, 0, 0] * 255,
                             (10 + kept[:8] % 256) / 4, rtol=1e-5)
  tasks = two_task.mnist_fashion_tasks(opts)
  structure.task_layout(tasks, 14 * 28, 5)  # splits inputs and outputs
  assert tasks[1][2].tolist() == [2, 3, 4]


def test_bad_options_are_errors():
  with pytest.raises(ValueError, match="unknown pairing 'zip'"):
    two_task.pair_indices(3, 3, 'zip', 0, 0)
  with pytest.raises(ValueError, match='must be distinct'):
    two_task.select_classes(np.arange(3), np.array([0, 1, 2]), (1, 1), None)


def test_moons_circles_is_standardised_seeded_and_multi_hot():
  cfg = ml_collections.ConfigDict({'name': 'moons_circles',
                                   'synthetic_seed': 0})
  ds = data.get_dataset(cfg)
  assert ds.train_images.shape == (1000, 4) and ds.test_images.shape == (
      1000, 4)
  assert ds.multi_label and ds.num_classes == 2
  np.testing.assert_allclose(ds.train_images.mean(0), 0, atol=1e-5)
  np.testing.assert_allclose(ds.train_images.std(0), 1, atol=1e-4)
  assert set(np.unique(ds.train_labels)) == {0.0, 1.0}
  again = data.get_dataset(cfg)
  np.testing.assert_array_equal(ds.test_images, again.test_images)
  cfg.synthetic_seed = 1
  assert not np.array_equal(ds.test_images,
                            data.get_dataset(cfg).test_images)
  # Circles: the inner class is nearer the centre in (x1, x2); moons'
  # label is not visible from the circles' radius (independent tasks).
  raw = ds.train_images[:, :2] * 1.0
  radius = np.linalg.norm(raw, axis=1)
  inner = ds.train_labels[:, 0] == 1
  assert radius[inner].mean() < radius[~inner].mean() * 0.6
  moons = ds.train_labels[:, 1] == 1
  assert abs(radius[moons].mean() - radius[~moons].mean()) < 0.15
  assert [t[0] for t in two_task.tasks('moons_circles')] == ['circles',
                                                             'moons']


def test_real_mnist_fashion_pairs_by_index(mnist_root):
  real_data_root('fashion_mnist')
  cfg = ml_collections.ConfigDict({'name': 'mnist_fashion_index',
                                   'root': str(mnist_root), 'source': 'auto',
                                   'validation_size': 5000})
  ds = data.get_dataset(cfg)
  m = two_task.mnist.read_raw('mnist', str(mnist_root))
  f = two_task.mnist.read_raw('fashion_mnist', str(mnist_root))
  assert ds.train_images.shape == (55000, 28, 56, 1)
  np.testing.assert_array_equal(
      np.round(ds.test_images[7, :, :28, 0] * 255), m[2][7])
  np.testing.assert_array_equal(
      np.round(ds.test_images[7, :, 28:, 0] * 255), f[2][7])
  np.testing.assert_array_equal(ds.test_labels[:, 0], m[3])
  np.testing.assert_array_equal(ds.val_labels[:, 1], f[1][55000:])


def knn_accuracy(train_x, train_y, test_x, test_y):
  from sklearn import neighbors  # pylint: disable=import-outside-toplevel
  knn = neighbors.KNeighborsClassifier(15).fit(train_x, train_y)
  return knn.score(test_x, test_y)


def test_moons_circles_xor_makes_the_second_task_need_both_halves():
  cfg = ml_collections.ConfigDict({'name': 'moons_circles',
                                   'synthetic_seed': 0})
  independent = data.get_dataset(cfg)
  cfg.name = 'moons_circles_xor'
  dependent = data.get_dataset(cfg)
  assert dependent.name == 'moons_circles_xor' and dependent.multi_label
  np.testing.assert_array_equal(dependent.test_images,
                                independent.test_images)
  circles, moons = independent.test_labels.T
  np.testing.assert_array_equal(dependent.test_labels[:, 0], circles)
  np.testing.assert_array_equal(dependent.test_labels[:, 1],
                                (circles != moons).astype(np.float32))
  # The second label is learnable from all four inputs, a coin flip from
  # the moons half alone; the independent data's second label is
  # learnable from that half (the negative case).
  def acc(ds, cols):
    return knn_accuracy(ds.train_images[:, cols], ds.train_labels[:, 1],
                        ds.test_images[:, cols], ds.test_labels[:, 1])
  assert acc(dependent, [0, 1, 2, 3]) > 0.9
  assert abs(acc(dependent, [2, 3]) - 0.5) < 0.08
  assert acc(independent, [2, 3]) > 0.95
  assert [t[0] for t in two_task.tasks('moons_circles_xor')] == ['circles',
                                                                 'xor']
