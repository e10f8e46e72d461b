"""On-device crop + flip augmentation."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import data
from lth_jax.data import augment
from lth_jax.data import cifar10

# Compiled once per shape; eager calls would compile every op on its own.
crop_flip = jax.jit(augment.random_crop_flip, static_argnames='padding')


def images(n=6, h=8, w=8, c=3):
  return np.arange(n * h * w * c, dtype=np.float32).reshape(n, h, w, c) + 1


def windows(image, padding, pad_value=0.0):
  """Every crop, flipped or not, of the padded image."""
  h, w, c = image.shape
  padded = np.broadcast_to(np.asarray(pad_value, np.float32),
                           (h + 2 * padding, w + 2 * padding, c)).copy()
  padded[padding:padding + h, padding:padding + w] = image
  out = []
  for dy in range(2 * padding + 1):
    for dx in range(2 * padding + 1):
      crop = padded[dy:dy + h, dx:dx + w]
      out += [crop, crop[:, ::-1]]
  return out


def test_shape_dtype_and_determinism():
  x = images()
  a = crop_flip(jax.random.key(0), x)
  b = crop_flip(jax.random.key(0), x)
  c = crop_flip(jax.random.key(1), x)
  assert a.shape == x.shape and a.dtype == x.dtype
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)


def test_without_padding_only_flips():
  x = images(n=32)
  out = np.asarray(crop_flip(jax.random.key(0), x, padding=0))
  flipped = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)]
  same = [np.array_equal(o, i) for o, i in zip(out, x)]
  assert all(f != s for f, s in zip(flipped, same))  # Exactly one of both.
  assert 4 < sum(flipped) < 28  # Both occur.


@pytest.mark.parametrize('pad_value', [0.0, cifar10.NORMALIZED_BLACK])
def test_crops_are_windows_of_the_padded_image(pad_value):
  x = images(n=8)
  out = np.asarray(crop_flip(jax.random.key(3), x, padding=2,
                             pad_value=pad_value))
  offsets_seen = set()
  for o, i in zip(out, x):
    candidates = windows(i, 2, pad_value)
    matches = [k for k, w in enumerate(candidates) if np.array_equal(o, w)]
    assert matches, 'output is not a (flipped) window of the padded image'
    offsets_seen.add(matches[0] // 2)
  assert len(offsets_seen) > 1


def test_crops_and_flips_vary_within_a_batch():
  x = np.broadcast_to(images(n=1), (64, 8, 8, 3))
  out = np.asarray(crop_flip(jax.random.key(0), x))
  assert len({o.tobytes() for o in out}) > 20
  # Default padding 4: all 9 x 9 offsets and both flips are possible.
  assert all(any(np.array_equal(o, w) for w in windows(x[0], 4)) for o in out)


def test_vmap_over_replicates():
  x = images(n=4)
  keys = jax.random.split(jax.random.key(0), 3)
  batched = jax.jit(jax.vmap(augment.random_crop_flip, in_axes=(0, None)))(
      keys, x)
  assert batched.shape == (3,) + x.shape
  for k, b in zip(keys, batched):
    np.testing.assert_array_equal(b, crop_flip(k, x))


def test_registry():
  assert data.all_augmentation_names() == ['crop_flip', 'none']
  x = images()
  key = jax.random.key(0)
  np.testing.assert_array_equal(data.get_augmentation('none')(key, x), x)
  assert data.get_augmentation('crop_flip') is augment.random_crop_flip
  bound = data.get_augmentation('crop_flip', padding=0, pad_value=1.0)
  assert isinstance(bound, functools.partial)
  np.testing.assert_array_equal(jax.jit(bound)(key, x),
                                crop_flip(key, x, padding=0))
  with pytest.raises(ValueError, match="unknown augmentation 'flip'; known: "
                     'crop_flip, none'):
    data.get_augmentation('flip')
  with pytest.raises(ValueError, match='already registered'):
    augment.register_augmentation('none')(augment.identity)
