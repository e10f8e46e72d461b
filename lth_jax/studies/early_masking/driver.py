"""The early-masking entry point: validate, replay, train the tickets."""
from typing import Any

import ml_collections

from lth_jax.lottery import config as config_lib
from lth_jax.runs import lock as run_lock
from lth_jax.runs import storage
from lth_jax.studies.early_masking import iterative
from lth_jax.studies.early_masking import oneshot
from lth_jax.studies.early_masking import replay
from lth_jax.studies.early_masking import tickets
from lth_jax.studies.early_masking import validation
from lth_jax.lottery.experiment import Experiment


def run(config: ml_collections.ConfigDict, workdir: str,
        dataset: Any = None) -> validation.Plan:
  """Runs (or resumes) an early-masking experiment on a lottery trunk.

  Args:
    config: ``{'trunk': <lottery config>, 'masking': ...}`` (see
      ``configs/early_masking.py``).
    workdir: the trunk's workdir; the trunk is ``workdir/<trunk-hash>``.
    dataset: optional preloaded ``lth_jax.data.Dataset`` (tests).

  Returns:
    The resolved ``Plan`` (results are on disk; see
    ``lth_jax.studies.early_masking.report``).

  Raises:
    ValueError: for bad input (before anything is written).
  """
  config_lib.validate(config.trunk)
  validation.check_trunk_config(config.trunk, workdir)
  exp = Experiment.setup(config.trunk, workdir, dataset)
  p = validation.plan(config.masking, exp, exp.init_variables(0)['params'])
  with run_lock.RunLock(exp.run_dir):
    storage.remove_stale_together(exp.run_dir, 'early masking locked')
    exp.write_config()
    replay.ensure_dense(exp)
    replay.capture(exp, p)
    if p.mode == 'oneshot':
      tickets.train_tickets(exp, oneshot.oneshot_tickets(exp, p),
                            'one-shot tickets')
    else:
      iterative.iterative_levels(exp, p)
      tickets.train_tickets(exp, iterative.iterative_controls(exp, p),
                            'iterative controls')
  return p
