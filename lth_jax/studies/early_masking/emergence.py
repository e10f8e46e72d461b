"""When winning tickets emerge: measured, and predicted a priori.

*Measured*: a ticket whose mask comes from step ``t`` of dense training
*wins* when its test accuracy at early stop is within ``tolerance`` of the
ticket whose mask comes from the fully-trained weights, and above its
random-prune control. The emergence point is the earliest timing point from
which every later timing point wins too (one replicate at a time).

*Predicted* (a priori: from the dense run's early checkpoints only, no
ticket trained), two signals over masks pruned to the target counts:

* ``early_bird``: the first step at which the early-bird criterion fires
  (``pruning.distance.early_bird_step``) on masks at a regular grid of
  steps (every evaluation);
* ``flattening``: on the same grid, the distance of each mask to the
  previous one falls from its first, largest values; the signal is the
  first step where it is at most ``fraction`` (0.5) of its running peak. It
  is causal: it uses only checkpoints up to that step.

(A first version took the distances on the doubling timing points; there
the change per doubling grows through training, as the intervals do, and
the rule only caught the transient of the first steps. It was moved to the
regular grid before any ticket was trained to the end.)

The prediction is the smallest timing point at or after the ``flattening``
signal: the normalised Hamming distance between two masks keeping a share
``d`` of the weights is at most ``2 d``, so at the sparsities where tickets
matter (``d`` of a few per cent) the published threshold of 0.1 is always
met and the early-bird criterion fires as soon as its window is full; it is
reported, not used.
"""
from typing import Sequence

import numpy as np

from lth_jax import errors

#: Share of the running peak of the per-interval mask change that marks
#: the flattening of the curve (chosen a priori).
FLATTEN_FRACTION = 0.5


def wins(ticket_acc: float, full_acc: float, control_acc: float,
         tolerance: float) -> bool:
  """Whether a ticket matches the full-mask ticket and beats its control.

  >>> wins(.981, .982, .97, .002), wins(.979, .982, .97, .002)
  (True, False)
  """
  return ticket_acc >= full_acc - tolerance and ticket_acc > control_acc


def measured_emergence(steps: Sequence[int], ticket_acc: Sequence[float],
                       full_acc: float, control_acc: Sequence[float] | float,
                       tolerance: float) -> int | None:
  """The earliest step from which the ticket wins at every later step.

  Args:
    steps: the timing points, increasing.
    ticket_acc: the ticket's test accuracy at early stop, per timing point.
    full_acc: the fully-trained-mask ticket's accuracy.
    control_acc: the random-prune control's accuracy (one, or per point).
    tolerance: how far below ``full_acc`` still matches it.

  Returns:
    A step of ``steps``, or None if the last one does not win.

  >>> measured_emergence([0, 10, 20, 40], [.90, .975, .96, .98], .98, .95,
  ...                    .005)
  40
  >>> measured_emergence([0, 10, 20, 40], [.90, .98, .979, .98], .98, .95,
  ...                    .005)
  10
  """
  controls = np.broadcast_to(np.asarray(control_acc, float), (len(steps),))
  first = None
  for step, acc, ctrl in zip(reversed(steps), reversed(ticket_acc),
                             reversed(controls)):
    if not wins(acc, full_acc, ctrl, tolerance):
      break
    first = int(step)
  return first


def flattening_step(steps: Sequence[int], previous: Sequence[float],
                    fraction: float = FLATTEN_FRACTION) -> int | None:
  """The first step after the peak where the change is <= ``fraction`` of
  its running peak.

  Args:
    steps: checkpoint steps, increasing.
    previous: each checkpoint's mask distance to the previous checkpoint
      (``nan`` for the first; from ``pruning.distance.previous_distances``).
    fraction: in (0, 1).

  Returns:
    A step of ``steps``, or None if the curve never flattens.

  >>> flattening_step([0, 1, 2, 4, 8], [np.nan, .2, .3, .2, .1])
  8
  """
  if not 0.0 < fraction < 1.0:
    raise errors.InputError(
        f'flattening fraction {fraction} must be in (0, 1).')
  peak = 0.0
  for step, d in zip(steps, previous):
    if np.isnan(d):
      continue
    if d > peak:
      peak = d
    elif peak > 0 and d <= fraction * peak:
      return int(step)
  return None


def next_timing_point(step: int | None, timing_points: Sequence[int]
                      ) -> int | None:
  """The smallest timing point ``>= step`` (None if none or no step).

  >>> next_timing_point(300, [0, 200, 400]), next_timing_point(None, [0])
  (400, None)
  """
  if step is None:
    return None
  later = [t for t in sorted(timing_points) if t >= step]
  return int(later[0]) if later else None
