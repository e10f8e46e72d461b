"""How good an a-priori emergence estimate is: its error against the
measured emergence point, beside the trivial constant predictor.

A case is one (learning rate, target sparsity, replicate). An estimate
that predicts the same point for every case carries no information about
the case; it is *useful* only if its error is below that of the best
constant, where the constant that predicts case ``i`` is chosen on the
other cases only (leave-one-out: the value among their measured points
that minimises their mean absolute error), so the baseline is not fit on
the case it predicts. "Below" is the rule of ``lth_jax.analysis.verdicts``:
the paired 95 % t interval of (constant's error - estimate's error) over
the cases lies above zero.

Errors are counted in whatever unit the caller passes: grid positions (the
index of a timing point; comparable across grids and learning rates) or
steps.

Pure NumPy.
"""
import dataclasses
from typing import Sequence

import numpy as np

from lth_jax import errors
from lth_jax.analysis import verdicts


@dataclasses.dataclass(frozen=True)
class Evaluation:
  """An estimate's errors against the leave-one-out constant's.

  Attributes:
    estimate_errors: ``|predicted - measured|`` per case.
    constant_predictions: the leave-one-out constant of each case.
    constant_errors: ``|constant - measured|`` per case.
    estimate_mae, constant_mae: mean absolute errors.
    exact: cases the estimate predicts exactly.
    comparison: constant's error - estimate's error (paired, over cases).
    useful: whether the estimate beats the constant (``comparison`` is
      ``better``).
  """
  estimate_errors: tuple[float, ...]
  constant_predictions: tuple[float, ...]
  constant_errors: tuple[float, ...]
  estimate_mae: float
  constant_mae: float
  exact: int
  comparison: verdicts.Comparison
  useful: bool


def best_constant(measured: Sequence[float]) -> float:
  """The value among ``measured`` with the smallest mean absolute error
  over them (a median; the smallest such value on a tie).

  >>> best_constant([2, 3, 3, 7]), best_constant([1, 4])
  (3.0, 1.0)
  """
  m = np.asarray(measured, np.float64)
  if m.size == 0:
    raise errors.InputError('no measured cases to choose a constant from.')
  candidates = np.unique(m)
  cost = np.abs(candidates[:, None] - m[None, :]).mean(axis=1)
  return float(candidates[int(np.argmin(cost))])


def leave_one_out_constants(measured: Sequence[float]) -> np.ndarray:
  """For each case, ``best_constant`` of all the other cases.

  >>> leave_one_out_constants([1, 1, 5]).tolist()
  [1.0, 1.0, 1.0]
  """
  m = np.asarray(measured, np.float64)
  if m.size < 2:
    raise errors.InputError(
        f'leave-one-out needs at least 2 cases, got {m.size}.')
  return np.array([best_constant(np.delete(m, i)) for i in range(m.size)])


def evaluate(predicted: Sequence[float], measured: Sequence[float]
             ) -> Evaluation:
  """An estimate's errors against the leave-one-out constant predictor.

  Args:
    predicted: the estimate, per case.
    measured: the measured emergence point, per case (same unit).

  Returns:
    An ``Evaluation``.

  >>> e = evaluate([1, 2, 3, 4], [1, 2, 3, 4])
  >>> e.estimate_mae, e.constant_mae, e.exact, e.useful
  (0.0, 1.5, 4, True)
  >>> evaluate([2, 2, 2, 2], [1, 2, 3, 4]).useful
  False
  """
  p = np.asarray(predicted, np.float64)
  m = np.asarray(measured, np.float64)
  if p.shape != m.shape or p.ndim != 1:
    raise errors.InputError(
        f'predicted and measured need one value per case: got shapes '
        f'{p.shape} and {m.shape}.')
  if not (np.all(np.isfinite(p)) and np.all(np.isfinite(m))):
    raise errors.InputError(
        'a case has no predicted or no measured point; drop it (and say '
        'so) before evaluating.')
  constants = leave_one_out_constants(m)
  est_err, const_err = np.abs(p - m), np.abs(constants - m)
  comparison = verdicts.compare(const_err, est_err, paired=True)
  return Evaluation(
      estimate_errors=tuple(est_err.tolist()),
      constant_predictions=tuple(constants.tolist()),
      constant_errors=tuple(const_err.tolist()),
      estimate_mae=float(est_err.mean()),
      constant_mae=float(const_err.mean()), exact=int(np.sum(est_err == 0)),
      comparison=comparison, useful=comparison.verdict == verdicts.BETTER)


def grid_positions(steps: Sequence[int | None], grid: Sequence[int]
                   ) -> list[float]:
  """Each step's index in the sorted timing grid (NaN for None).

  >>> grid_positions([800, None, 0], [0, 400, 800, 5000])
  [2.0, nan, 0.0]
  """
  order = sorted(int(g) for g in grid)
  out = []
  for s in steps:
    if s is None:
      out.append(float('nan'))
    elif int(s) not in order:
      raise errors.InputError(
          f'step {s} is not a timing point of the grid {order}.')
    else:
      out.append(float(order.index(int(s))))
  return out
