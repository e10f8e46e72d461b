"""Two-task data sets: MNIST + Fashion-MNIST side by side, moons + circles.

Each example holds two independent tasks (*Winning the Lottery Twice*):

* ``mnist_fashion``: an MNIST digit and a Fashion-MNIST garment side by side
  as one 28x56 picture (1,568 inputs: columns 0-27 the digit, 28-55 the
  garment); labels ``[N, 2]`` int32 (digit, garment) for a two-head model
  (``losses.Task(head_sizes=(10, 10))``, ``mlp(head_sizes=(10, 10))``: the
  loss is the mean of the two cross-entropies). The images are paired by
  a seeded shuffle of both sources (``pairing='key'``) or by index,
  unshuffled, as the thesis did (``'index'``). Variants (registered under
  their own names, so the run hash tells them apart): ``mnist_fashion``,
  ``mnist_fashion_index``, ``mnist_fashion_14`` (each image 2x2-averaged
  to 14x14: a 14x28 picture, 392 inputs); ``register_mnist_fashion`` adds
  others (class subsets, examples per class).
* ``moons_circles``: scikit-learn's ``make_circles`` (noise 0.1, factor
  0.35) and ``make_moons`` (noise 0.1): inputs (x1, x2) the circles, (x3,
  x4) the moons, standardised with the training set's mean and deviation;
  labels ``[N, 2]`` float32 (circles, moons) as multi-hot targets: two
  sigmoid outputs with binary cross-entropies (``multi_label=True``), the
  thesis's 4-w-w-2 network. Sizes ``data.synthetic_train_size`` (1,000 in
  the structure configs), ``synthetic_validation_size`` (extra draws),
  ``synthetic_test_size`` (1,000), seed ``synthetic_seed``.
* ``moons_circles_xor``: the same inputs with *dependent* tasks, the
  negative control of the structure study: output 0 is the circles label,
  output 1 the circles label XOR the moons label, which needs both halves
  of the input (from the moons half alone it is a coin flip). A ticket that
  solves both tasks cannot come apart into one subnetwork per half.

``tasks(name)`` gives each data set's task layout for
``lth_jax.analysis.structure``: ``(name, input indices, output indices)``.
"""
from typing import Any, NamedTuple, Sequence

import numpy as np

from lth_jax import errors
from lth_jax.data import dataset
from lth_jax.data import mnist
from lth_jax.data import registry

PAIRINGS = ('key', 'index')
TaskLayout = tuple[tuple[str, np.ndarray, np.ndarray], ...]


class MnistFashionOptions(NamedTuple):
  """How an MNIST + Fashion-MNIST variant is built.

  Attributes:
    downsample: average 2x2 pixels (14x14 per image).
    digits, garments: class subsets (None: all 10); labels are renumbered
      0..k-1 in the given order, the heads are ``(len(digits),
      len(garments))`` wide.
    per_class: training examples kept per class of each source (the first
      ones; None: all).
    pairing: 'key' (shuffle both sources with ``seed``) or 'index'.
    seed: the pairing seed.
  """
  downsample: bool = False
  digits: tuple[int, ...] | None = None
  garments: tuple[int, ...] | None = None
  per_class: int | None = None
  pairing: str = 'key'
  seed: int = 0

  def head_sizes(self) -> tuple[int, int]:
    return (len(self.digits or range(10)), len(self.garments or range(10)))

  def image_side(self) -> int:
    return 14 if self.downsample else 28


def downsample_2x(images: np.ndarray) -> np.ndarray:
  """``[N, H, W]`` -> ``[N, H/2, W/2]``, the mean of each 2x2 block.

  >>> downsample_2x(np.arange(16.).reshape(1, 4, 4)).tolist()
  [[[2.5, 4.5], [10.5, 12.5]]]
  """
  n, h, w = images.shape
  return images.reshape(n, h // 2, 2, w // 2, 2).mean((2, 4))


def select_classes(images: np.ndarray, labels: np.ndarray,
                   classes: Sequence[int] | None, per_class: int | None
                   ) -> tuple[np.ndarray, np.ndarray]:
  """The examples of ``classes`` (the first ``per_class`` of each), with
  labels renumbered to positions in ``classes``; order is kept.

  >>> select_classes(np.arange(6), np.array([0, 1, 2, 1, 0, 1]), (1, 0), 1)
  (array([0, 1]), array([1, 0], dtype=int32))
  """
  classes = tuple(range(10)) if classes is None else tuple(classes)
  if (len(set(classes)) != len(classes) or not classes
      or not all(0 <= c < 10 for c in classes)):
    raise errors.InputError(
        f'class subset {classes} must be distinct classes in '
        '0-9.')
  keep = np.zeros(len(labels), bool)
  for c in classes:
    where = np.flatnonzero(labels == c)
    keep[where[:per_class] if per_class else where] = True
  new = np.full(max(10, int(labels.max()) + 1), -1)
  new[list(classes)] = np.arange(len(classes))
  return images[keep], new[labels[keep]].astype(np.int32)


def pair_indices(n_a: int, n_b: int, pairing: str, seed: int, split: int
                 ) -> tuple[np.ndarray, np.ndarray]:
  """Which example of each source goes into each pair (``min(n_a, n_b)``).

  ``'index'`` pairs the i-th with the i-th; ``'key'`` shuffles both
  sources with a generator seeded by ``(seed, split)``.

  >>> pair_indices(3, 2, 'index', 0, 0)
  (array([0, 1]), array([0, 1]))
  """
  if pairing not in PAIRINGS:
    raise errors.InputError(f'unknown pairing {pairing!r}; known: '
                     f'{", ".join(PAIRINGS)}.')
  n = min(n_a, n_b)
  if pairing == 'index':
    return np.arange(n), np.arange(n)
  rng = np.random.default_rng([seed, split])
  return rng.permutation(n_a)[:n], rng.permutation(n_b)[:n]


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
  """uint8 or float ``[N, H, W]`` pairs -> float32 ``[N, H, 2W, 1]`` in
  [0, 1] (uint8 is scaled by 1/255)."""
  pic = np.concatenate([left, right], axis=2).astype(np.float32)
  return (pic / 255.0)[..., None]


def make_mnist_fashion(mnist_arrays: Sequence[np.ndarray],
                       fashion_arrays: Sequence[np.ndarray],
                       options: MnistFashionOptions, validation_size: int,
                       name: str = 'mnist_fashion') -> dataset.Dataset:
  """The paired data set from (train_x, train_y, test_x, test_y) arrays."""
  splits = []
  for split in (0, 1):
    parts = []
    for arrays, classes in ((mnist_arrays, options.digits),
                            (fashion_arrays, options.garments)):
      x, y = arrays[2 * split], arrays[2 * split + 1]
      x = x.astype(np.float32)
      if options.downsample:
        x = downsample_2x(x)
      parts.append(select_classes(x, y, classes,
                                  options.per_class if split == 0 else None))
    (xa, ya), (xb, yb) = parts
    ia, ib = pair_indices(len(ya), len(yb), options.pairing, options.seed,
                          split)
    splits.append((side_by_side(xa[ia], xb[ib]),
                   np.stack([ya[ia], yb[ib]], 1).astype(np.int32)))
  (train_x, train_y), (test_x, test_y) = splits
  return dataset.hold_out(name, sum(options.head_sizes()), train_x, train_y,
                          test_x, test_y, validation_size)


def mnist_fashion_tasks(options: MnistFashionOptions) -> TaskLayout:
  """Inputs: the left / right half of each row; outputs: the two heads.

  >>> t = mnist_fashion_tasks(MnistFashionOptions(downsample=True))
  >>> t[0][0], t[0][1][:3], t[1][1][:3], t[1][2][:2]
  ('mnist', array([0, 1, 2]), array([14, 15, 16]), array([10, 11]))
  """
  side = options.image_side()
  pixel = np.arange(side * 2 * side).reshape(side, 2 * side)
  a, b = options.head_sizes()
  return (('mnist', pixel[:, :side].ravel(), np.arange(a)),
          ('fashion', pixel[:, side:].ravel(), np.arange(a, a + b)))


_MNIST_FASHION: dict[str, MnistFashionOptions] = {}


def register_mnist_fashion(name: str, options: MnistFashionOptions) -> None:
  """Registers an MNIST + Fashion-MNIST variant as data set ``name``."""
  if options.pairing not in PAIRINGS:
    raise errors.InputError(f'unknown pairing {options.pairing!r}; known: '
                     f'{", ".join(PAIRINGS)}.')

  def load(data_config: Any) -> dataset.Dataset:
    if data_config.get('source', 'auto') == 'tfds':
      raise errors.InputError(f'{name!r} reads the raw MNIST and Fashion-MNIST '
                       "files only: set config.data.source='raw' or 'auto'.")
    root = data_config.get('root', '')
    return make_mnist_fashion(mnist.read_raw('mnist', root),
                              mnist.read_raw('fashion_mnist', root), options,
                              data_config.get('validation_size', 5000), name)

  registry.register_dataset(name)(load)
  _MNIST_FASHION[name] = options


register_mnist_fashion('mnist_fashion', MnistFashionOptions())
register_mnist_fashion('mnist_fashion_index',
                       MnistFashionOptions(pairing='index'))
register_mnist_fashion('mnist_fashion_14',
                       MnistFashionOptions(downsample=True))


def mnist_fashion_options(name: str) -> MnistFashionOptions:
  """The options a registered MNIST + Fashion-MNIST variant was built with."""
  if name not in _MNIST_FASHION:
    raise errors.InputError(f'unknown MNIST + Fashion-MNIST variant {name!r}; '
                     f'known: {", ".join(sorted(_MNIST_FASHION))}.')
  return _MNIST_FASHION[name]


def moons_circles_arrays(n_train: int, n_validation: int, n_test: int,
                         seed: int, noise: float = 0.1, factor: float = 0.35
                         ) -> tuple[np.ndarray, ...]:
  """(train_x, train_y, val_x, val_y, test_x, test_y), standardised.

  >>> x, y, *_ = moons_circles_arrays(100, 10, 50, seed=0)
  >>> x.shape, y.shape, bool(abs(x.mean(0)).max() < 1e-5)
  ((100, 4), (100, 2), True)
  """
  from sklearn import datasets as sk_datasets  # pylint: disable=import-outside-toplevel
  n = n_train + n_validation + n_test
  rng = np.random.RandomState(seed)
  xc, yc = sk_datasets.make_circles(n_samples=n, noise=noise, factor=factor,
                                    random_state=rng)
  xm, ym = sk_datasets.make_moons(n_samples=n, noise=noise, random_state=rng)
  x = np.concatenate([xc, xm], 1)
  y = np.stack([yc, ym], 1).astype(np.float32)
  mean, std = x[:n_train].mean(0), x[:n_train].std(0)
  x = ((x - mean) / std).astype(np.float32)
  cuts = (n_train, n_train + n_validation)
  return (x[:cuts[0]], y[:cuts[0]], x[cuts[0]:cuts[1]], y[cuts[0]:cuts[1]],
          x[cuts[1]:], y[cuts[1]:])


MOONS_CIRCLES_TASKS: TaskLayout = (
    ('circles', np.arange(0, 2), np.array([0])),
    ('moons', np.arange(2, 4), np.array([1])))


@registry.register_dataset('moons_circles')
def load_moons_circles(data_config: Any) -> dataset.Dataset:
  """Moons + circles (see the module doc); no files needed."""
  tx, ty, vx, vy, sx, sy = moons_circles_arrays(
      data_config.get('synthetic_train_size', 1000),
      data_config.get('synthetic_validation_size', 500),
      data_config.get('synthetic_test_size', 1000),
      data_config.get('synthetic_seed', 0))
  return dataset.Dataset('moons_circles', 2, tx, ty, vx, vy, sx, sy,
                         multi_label=True)


MOONS_CIRCLES_XOR_TASKS: TaskLayout = (
    ('circles', np.arange(0, 2), np.array([0])),
    ('xor', np.arange(2, 4), np.array([1])))


def xor_second_label(labels: np.ndarray) -> np.ndarray:
  """``[N, 2]`` 0/1 labels (a, b) -> (a, a XOR b), same dtype.

  >>> xor_second_label(np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]))
  array([[0., 0.],
         [0., 1.],
         [1., 1.],
         [1., 0.]])
  """
  out = labels.copy()
  out[:, 1] = np.logical_xor(labels[:, 0] > 0.5, labels[:, 1] > 0.5)
  return out


@registry.register_dataset('moons_circles_xor')
def load_moons_circles_xor(data_config: Any) -> dataset.Dataset:
  """Moons + circles with dependent tasks (see the module doc)."""
  ds = load_moons_circles(data_config)
  return ds._replace(name='moons_circles_xor',
                     train_labels=xor_second_label(ds.train_labels),
                     val_labels=xor_second_label(ds.val_labels),
                     test_labels=xor_second_label(ds.test_labels))


def tasks(name: str) -> TaskLayout:
  """The task layout of a registered two-task data set.

  >>> [t[0] for t in tasks('moons_circles')]
  ['circles', 'moons']
  """
  if name == 'moons_circles':
    return MOONS_CIRCLES_TASKS
  if name == 'moons_circles_xor':
    return MOONS_CIRCLES_XOR_TASKS
  return mnist_fashion_tasks(mnist_fashion_options(name))
