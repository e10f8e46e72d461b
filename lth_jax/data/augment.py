"""On-device data augmentation: pure functions of a key and an image batch.

Every augmentation is ``augment(key, images) -> images`` on an NHWC batch,
jit- and vmap-compatible, so the train step applies it inside the compiled
program from a per-step key.
"""
import functools
from typing import Callable

import jax
import jax.numpy as jnp

from lth_jax import registry

Augmentation = Callable[[jax.Array, jax.Array], jax.Array]


def identity(key: jax.Array, images: jax.Array) -> jax.Array:
  """No augmentation."""
  del key
  return images


def random_crop_flip(key: jax.Array, images: jax.Array, padding: int = 4,
                     pad_value: float | jax.Array = 0.0) -> jax.Array:
  """Pads, randomly crops back to size and randomly flips each image.

  torchvision's ``RandomCrop(32, padding=4)`` + ``RandomHorizontalFlip()``,
  as open_lth augments CIFAR-10: constant padding, one crop offset and one
  fair coin flip per image. open_lth pads the raw image with black; on
  normalised images, ``pad_value=0`` pads with the mean colour, and
  ``pad_value=cifar10.NORMALIZED_BLACK`` (per channel) with black.

  Args:
    key: a PRNG key.
    images: ``[N, H, W, C]``.
    padding: pixels added on each side (static).
    pad_value: the padding value, a scalar or one per channel.

  Returns:
    The augmented ``[N, H, W, C]`` batch.

  >>> x = jnp.arange(2 * 8 * 8 * 3, dtype=jnp.float32).reshape(2, 8, 8, 3)
  >>> jax.jit(random_crop_flip)(jax.random.key(0), x).shape
  (2, 8, 8, 3)
  """
  n, h, w, c = images.shape
  crop_key, flip_key = jax.random.split(key)
  offsets = jax.random.randint(crop_key, (n, 2), 0, 2 * padding + 1)
  flips = jax.random.bernoulli(flip_key, 0.5, (n,))
  fill = jnp.broadcast_to(jnp.asarray(pad_value, images.dtype), (c,))
  padded = jnp.broadcast_to(fill, (n, h + 2 * padding, w + 2 * padding, c))
  padded = padded.at[:, padding:padding + h, padding:padding + w].set(images)

  def crop_flip(image, offset, flip):
    crop = jax.lax.dynamic_slice(image, (offset[0], offset[1], 0), (h, w, c))
    return jnp.where(flip, crop[:, ::-1], crop)

  return jax.vmap(crop_flip)(padded, offsets, flips)


_AUGMENTATIONS: registry.Registry[Augmentation] = registry.Registry(
    'augmentation')
_AUGMENTATIONS.register('none')(identity)
_AUGMENTATIONS.register('crop_flip')(random_crop_flip)

#: Decorator: registers an ``augment(key, images, **kwargs)`` function.
register_augmentation = _AUGMENTATIONS.register
all_augmentation_names = _AUGMENTATIONS.names


def get_augmentation(name: str, **kwargs) -> Augmentation:
  """The augmentation ``name`` with ``kwargs`` bound.

  >>> get_augmentation('crop_flip', padding=2).keywords
  {'padding': 2}
  """
  fn = _AUGMENTATIONS.get(name)
  return functools.partial(fn, **kwargs) if kwargs else fn
