"""Verdicts over replicates that account for their spread.

Every verdict a report prints ("matches", "hurt", "stable", "wins") rests
on this module's rule (docs/results/README.md, rule 3): the difference of
the two arms' means with its 95 % Student t interval, Welch's for
independent arms, paired when replicate ``i`` of both arms shares its seeds
(a branch of the same trunk). The interval above zero is ``'better'``,
below zero ``'worse'``, across zero ``'indistinguishable'``; fewer than
``MIN_REPLICATES`` replicates in an arm is ``'insufficient replicates'``,
whatever the means say. A winning ticket is Frankle & Carbin's (2019):
test accuracy at early stop not below the dense network's, in at most the
dense network's iterations.

Pure NumPy and SciPy.
"""
import dataclasses
from typing import Sequence

import numpy as np
from scipy import stats

from lth_jax import errors

#: Fewest replicates per arm for a verdict.
MIN_REPLICATES = 3
#: Coverage of the interval of the difference of means.
CONFIDENCE = 0.95

BETTER, WORSE = 'better', 'worse'
INDISTINGUISHABLE = 'indistinguishable'
INSUFFICIENT = 'insufficient replicates'
VERDICTS = (BETTER, WORSE, INDISTINGUISHABLE, INSUFFICIENT)


@dataclasses.dataclass(frozen=True)
class Comparison:
  """Arm a against arm b: ``diff`` = mean(a) - mean(b), its interval
  [``low``, ``high``] and the verdict."""
  diff: float
  low: float
  high: float
  n_a: int
  n_b: int
  paired: bool
  verdict: str

  def __str__(self) -> str:
    if np.isnan(self.low):
      return f'{self.diff:+.2f} ({self.verdict})'
    return (f'{self.diff:+.2f} [{self.low:+.2f}, {self.high:+.2f}] '
            f'({self.verdict})')


def _values(x: Sequence[float], name: str) -> np.ndarray:
  v = np.asarray(x, np.float64).reshape(-1)
  if not np.all(np.isfinite(v)):
    raise errors.InputError(f'{name} holds a non-finite value: {v.tolist()}; '
                     'drop unfinished replicates before comparing.')
  return v


def _interval(diff: float, se: float, df: float,
              confidence: float) -> tuple[float, float]:
  if se == 0:
    return diff, diff
  if not np.isfinite(df) or df <= 0:
    return np.nan, np.nan
  half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
  return diff - half, diff + half


def compare(a: Sequence[float], b: Sequence[float], *, paired: bool = False,
            confidence: float = CONFIDENCE,
            min_replicates: int = MIN_REPLICATES) -> Comparison:
  """Compares the replicates of arm ``a`` with those of arm ``b``.

  Args:
    a, b: one value per replicate (e.g. test accuracy at early stop).
    paired: replicate i of ``a`` and of ``b`` share their seeds (same
      length); the interval is then over the per-replicate differences.
    confidence: coverage of the interval.
    min_replicates: fewer in either arm gives ``INSUFFICIENT``.

  Returns:
    A ``Comparison``; ``low``/``high`` are NaN when an arm has one value.

  >>> str(compare([98.1, 98.2, 98.3], [97.0, 97.1, 97.2]))
  '+1.10 [+0.87, +1.33] (better)'
  >>> compare([98.1, 97.2, 98.3], [97.9, 98.1, 97.6]).verdict
  'indistinguishable'
  >>> compare([98.3, 98.4], [97.0, 97.1]).verdict
  'insufficient replicates'
  """
  a, b = _values(a, 'a'), _values(b, 'b')
  if paired and a.shape != b.shape:
    raise errors.InputError(f'paired arms need one value per shared replicate: '
                     f'got {a.size} and {b.size}.')
  if a.size == 0 or b.size == 0:
    raise errors.InputError('an arm has no replicates.')
  diff = float(a.mean() - b.mean())
  low = high = np.nan
  if paired and a.size > 1:
    d = a - b
    low, high = _interval(diff, float(d.std(ddof=1) / np.sqrt(d.size)),
                          d.size - 1, confidence)
  elif not paired and a.size > 1 and b.size > 1:
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = float(np.sqrt(va + vb))
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1)
                           ) if se > 0 else np.inf
    low, high = _interval(diff, se, df, confidence)
  if min(a.size, b.size) < min_replicates or np.isnan(low):
    verdict = INSUFFICIENT
  elif low > 0:
    verdict = BETTER
  elif high < 0:
    verdict = WORSE
  else:
    verdict = INDISTINGUISHABLE
  return Comparison(diff, float(low), float(high), int(a.size), int(b.size),
                    paired, verdict)


def against(values: Sequence[float], reference: float, *,
            confidence: float = CONFIDENCE,
            min_replicates: int = MIN_REPLICATES) -> Comparison:
  """Replicates against a fixed number (a threshold): the one-sample t
  interval of mean(values) - reference.

  >>> against([0.2, 0.3, 0.25], 2.0).verdict
  'worse'
  """
  v = _values(values, 'values')
  return compare(v, np.full_like(v, reference), paired=True,
                 confidence=confidence, min_replicates=min_replicates)


@dataclasses.dataclass(frozen=True)
class WinningTicket:
  """Frankle & Carbin's test: ``wins`` is None without enough replicates."""
  wins: bool | None
  accuracy: Comparison
  stop_diff: float

  def __str__(self) -> str:
    word = {True: 'wins', False: 'does not win', None: INSUFFICIENT}
    return (f'{word[self.wins]}: acc {self.accuracy}, '
            f'stop {self.stop_diff:+.0f}')


def winning_ticket(ticket_acc: Sequence[float], dense_acc: Sequence[float],
                   ticket_stop: Sequence[float],
                   dense_stop: Sequence[float], *, paired: bool = False,
                   confidence: float = CONFIDENCE,
                   min_replicates: int = MIN_REPLICATES) -> WinningTicket:
  """Whether a ticket wins by the paper's definition (Frankle & Carbin
  2019): its test accuracy at early stop is not below the dense network's
  (the interval of ticket - dense does not lie entirely below zero) and
  its mean early-stop iteration is at most the dense network's.

  Args:
    ticket_acc, dense_acc: test accuracy at early stop per replicate.
    ticket_stop, dense_stop: early-stop iteration per replicate.
    paired: as in ``compare`` (a ticket and the dense level 0 of the same
      trunk replicate share their seeds).

  >>> winning_ticket([98.2, 98.1, 98.3], [97.7, 97.5, 98.0],
  ...                [2000, 2250, 2000], [3000, 4000, 3000]).wins
  True
  >>> winning_ticket([98.2, 98.1, 98.3], [97.7, 97.5, 98.0],
  ...                [4000, 4250, 4000], [3000, 4000, 3000]).wins
  False
  """
  acc = compare(ticket_acc, dense_acc, paired=paired, confidence=confidence,
                min_replicates=min_replicates)
  stop = float(_values(ticket_stop, 'ticket_stop').mean()
               - _values(dense_stop, 'dense_stop').mean())
  wins = None
  if acc.verdict != INSUFFICIENT:
    wins = acc.verdict != WORSE and stop <= 0
  return WinningTicket(wins, acc, stop)


def row_values(row: dict, key: str = 'early_stop_test_acc') -> list[float]:
  """An aggregated row's per-replicate values (``tables.aggregate``)."""
  values = row.get(f'{key}_values')
  if values is None:
    raise errors.InputError(
        f'row {row.get("branch")}/{row.get("level")} has no '
        f'per-replicate {key!r}: aggregate it with '
        'lth_jax.analysis.tables.aggregate.')
  return values


def compare_rows(a: dict, b: dict, key: str = 'early_stop_test_acc', *,
                 paired: bool = False) -> Comparison:
  """``compare`` of two aggregated rows; ``paired`` applies only when both
  hold the same replicates (branches of one trunk share their seeds)."""
  same = a.get('replicate_ids') == b.get('replicate_ids')
  return compare(row_values(a, key), row_values(b, key),
                 paired=paired and same)
