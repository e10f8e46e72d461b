"""The train state: params, masks, optimizer state, batch norm, data key."""
from typing import Any

from flax import struct
from flax.training import train_state
import jax

PyTree = Any


class TrainState(train_state.TrainState):
  """Flax's TrainState plus what a lottery run carries.

  Attributes:
    masks: bool masks shaped like ``params`` (``None`` = never pruned).
    batch_stats: the model's ``batch_stats`` collection (``{}`` if none).
    data_key: key of this replicate's data order and augmentation.
  """
  masks: PyTree = struct.field(default=None)
  batch_stats: PyTree = struct.field(default_factory=dict)
  data_key: jax.Array = struct.field(default=None)


def create_train_state(model: Any, params: PyTree, masks: PyTree, tx: Any,
                       data_key: jax.Array, batch_stats: PyTree = None,
                       step: int = 0) -> TrainState:
  """A fresh state at ``step`` (optimizer state initialised)."""
  from lth_jax.pruning import masks as masks_lib  # pylint: disable=import-outside-toplevel
  params = masks_lib.apply_masks(params, masks)
  state = TrainState.create(apply_fn=model.apply, params=params, tx=tx,
                            masks=masks, batch_stats=batch_stats or {},
                            data_key=data_key)
  return state.replace(step=jax.numpy.asarray(step, jax.numpy.int32))
