"""Lottery drivers: IMP with rewinding, controls, sweeps, resumption."""
from lth_jax.lottery.config import default_config
from lth_jax.lottery.config import run_hash
from lth_jax.lottery.config import validate
from lth_jax.runs.storage import collect
from lth_jax.lottery.imp import run
from lth_jax.training.engine import NonFiniteLossError
from lth_jax.runs.lock import RunLockedError
from lth_jax.lottery.branches import run_branch
