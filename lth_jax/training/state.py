"""The train state: params, masks, optimizer state, batch norm, data key."""
from typing import Any

from flax import struct
from flax.training import train_state
import jax
import jax.numpy as jnp
import optax

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


def advance_schedules(opt_state: PyTree, step: int) -> PyTree:
  """Sets the count of every learning-rate schedule in ``opt_state``."""
  def is_schedule(x):
    return isinstance(x, optax.ScaleByScheduleState)
  return jax.tree.map(
      lambda s: s._replace(count=jnp.asarray(step, s.count.dtype))
      if is_schedule(s) else s, opt_state, is_leaf=is_schedule)


def create_train_state(model: Any, params: PyTree, masks: PyTree, tx: Any,
                       data_key: jax.Array, batch_stats: PyTree = None,
                       step: int = 0) -> TrainState:
  """A fresh state at ``step`` from ``params`` under ``masks``.

  The learning-rate schedule resumes at ``step`` (late rewinding continues
  the dense run's schedule, as open_lth does); Adam's and momentum's
  statistics start fresh.
  """
  from lth_jax.pruning import masks as masks_lib  # pylint: disable=import-outside-toplevel
  params = masks_lib.apply_masks(params, masks)
  state = TrainState.create(apply_fn=model.apply, params=params, tx=tx,
                            masks=masks, batch_stats=batch_stats or {},
                            data_key=data_key)
  return state.replace(step=jnp.asarray(step, jnp.int32),
                       opt_state=advance_schedules(state.opt_state, step))
