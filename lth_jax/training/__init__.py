"""Masked training: TrainState, jitted steps, optimizers, durations, and the
engine that trains a stack of states with hooks."""
from lth_jax.training.batching import DeviceData
from lth_jax.training.batching import to_device
from lth_jax.training.durations import parse_duration
from lth_jax.training.losses import Task
from lth_jax.training.optimizers import make_optimizer
from lth_jax.training.state import create_train_state
from lth_jax.training.state import TrainState
from lth_jax.training.steps import evaluate
from lth_jax.training.steps import train_step
from lth_jax.training.steps import train_steps
from lth_jax.training.engine import AtSteps
from lth_jax.training.engine import EarlyStopping
from lth_jax.training.engine import LoopSpec
from lth_jax.training.engine import NonFiniteLossError
from lth_jax.training.engine import Run
from lth_jax.training.engine import train
from lth_jax.training.replicates import Executor
from lth_jax.training.replicates import resolve_strategy
