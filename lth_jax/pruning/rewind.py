"""Rewinding: restart a pruned network from earlier weights."""
from typing import Any

from lth_jax.pruning import masks as masks_lib

PyTree = Any


def rewind(rewind_params: PyTree, masks: PyTree) -> PyTree:
  """The weights a level starts from: ``rewind_params`` under ``masks``.

  ``rewind_params`` are the initial weights (rewinding to init), the weights
  at step k of the dense run (late rewinding), or the trained weights
  (learning-rate rewinding and fine-tuning).

  >>> import jax.numpy as jnp
  >>> rewind({'w': jnp.array([1., 2.])}, {'w': jnp.array([False, True])})
  {'w': Array([0., 2.], dtype=float32)}
  """
  masks_lib.check_mask_tree(rewind_params, masks)
  return masks_lib.apply_masks(rewind_params, masks)
