"""Optimizers and learning-rate schedules from ``config.training``."""
from typing import Any, Callable

import optax

from lth_jax import errors
from lth_jax.training import durations

OPTIMIZERS = ('adam', 'sgd')
SCHEDULES = ('constant', 'step', 'cosine')


def learning_rate_schedule(cfg: Any, steps_per_epoch: int, total_steps: int
                           ) -> Callable[[Any], Any]:
  """Linear warm-up, then constant, step decay at milestones, or cosine."""
  if cfg.schedule not in SCHEDULES:
    raise errors.InputError(f'unknown learning-rate schedule {cfg.schedule!r}; '
                     f'known: {SCHEDULES}.')
  base = cfg.learning_rate
  warmup = durations.parse_duration(cfg.warmup, steps_per_epoch,
                                    'training.warmup', allow_zero=True)
  if cfg.schedule == 'constant':
    after = optax.constant_schedule(base)
  elif cfg.schedule == 'step':
    milestones = durations.parse_duration_list(
        cfg.milestones, steps_per_epoch, 'training.milestones')
    after = optax.piecewise_constant_schedule(
        base, {m - warmup: cfg.gamma for m in milestones if m > warmup})
  else:
    after = optax.cosine_decay_schedule(base, max(total_steps - warmup, 1))
  if not warmup:
    return after
  return optax.join_schedules(
      [optax.linear_schedule(0.0, base, warmup), after], [warmup])


def make_optimizer(cfg: Any, steps_per_epoch: int, total_steps: int,
                   constant_lr: float | None = None
                   ) -> optax.GradientTransformation:
  """Builds the optax optimizer of ``config.training``.

  Args:
    cfg: ``config.training``.
    steps_per_epoch: for durations given in epochs.
    total_steps: the length of a level (for cosine decay).
    constant_lr: if given, replaces the schedule (fine-tuning uses the final
      learning rate of the schedule).
  """
  if cfg.optimizer not in OPTIMIZERS:
    raise errors.InputError(f'unknown optimizer {cfg.optimizer!r}; known: '
                     f'{OPTIMIZERS}.')
  lr = (learning_rate_schedule(cfg, steps_per_epoch, total_steps)
        if constant_lr is None else constant_lr)
  if cfg.optimizer == 'adam':
    opt = optax.adam(lr)
  else:
    opt = optax.sgd(lr, momentum=cfg.momentum or None, nesterov=cfg.nesterov)
  if cfg.weight_decay:
    # Coupled L2 (added to the gradient), as in open_lth and the papers.
    opt = optax.chain(optax.add_decayed_weights(cfg.weight_decay), opt)
  return opt
