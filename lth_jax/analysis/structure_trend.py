"""How often replicates separate, with the spread of a binomial count.

A replicate *separates* (*Winning the Lottery Twice*) when some level of
its IMP run is ``separated``: exactly one full-coverage component per task
(outcome ``separated`` or ``separated-degraded`` of
``structure.run_outcome``). A count of k of n replicates is reported with
its 95 % Wilson score interval; the rules that turn counts into verdicts:

* across ordered groups (hidden widths), the Cochran-Armitage test for a
  trend in proportions, scores = log2(width): a two-sided p below 0.05 with
  z > 0 is ``'grows'``, with z < 0 ``'shrinks'``, otherwise ``'no trend'``
  (z^2 = N r^2, r the Pearson correlation of score and outcome over all N
  replicates);
* between two arms (independent against dependent tasks), Fisher's exact
  test: p below 0.05 is ``'more'`` / ``'fewer'`` (arm a against b),
  otherwise ``'indistinguishable'``.

Fewer than ``verdicts.MIN_REPLICATES`` replicates in a group or arm is
``'insufficient replicates'``. Pure NumPy and SciPy.
"""
from typing import Any, NamedTuple, Sequence

import numpy as np
from scipy import stats

from lth_jax import errors
from lth_jax.analysis import verdicts

SEPARATING_OUTCOMES = ('separated', 'separated-degraded')
ALPHA = 1.0 - verdicts.CONFIDENCE
GROWS, SHRINKS, NO_TREND = 'grows', 'shrinks', 'no trend'
MORE, FEWER = 'more', 'fewer'


class Fraction(NamedTuple):
  """k of n with its Wilson score interval [low, high]."""
  k: int
  n: int
  low: float
  high: float

  def __str__(self) -> str:
    return f'{self.k}/{self.n} [{self.low:.2f}, {self.high:.2f}]'


class CountTest(NamedTuple):
  """A test's statistic, two-sided p-value and verdict."""
  statistic: float
  p: float
  verdict: str

  def __str__(self) -> str:
    return f'{self.verdict} (statistic {self.statistic:+.2f}, p = {self.p:.3g})'


def separated(outcomes: Sequence[dict[str, Any]]) -> tuple[int, int]:
  """(replicates that separate at some level, replicates).

  >>> separated([{'outcome': 'separated-degraded'}, {'outcome': 'degraded'}])
  (1, 2)
  """
  k = sum(o['outcome'] in SEPARATING_OUTCOMES for o in outcomes)
  return k, len(outcomes)


def wilson(k: int, n: int, confidence: float = verdicts.CONFIDENCE
           ) -> Fraction:
  """k successes of n with the Wilson score interval.

  >>> str(wilson(0, 5))
  '0/5 [0.00, 0.43]'
  """
  if not 0 <= k <= n or n < 1:
    raise errors.InputError(f'a count of {k} of {n} is not a fraction: '
                            'need 0 <= k <= n and n >= 1.')
  z = stats.norm.ppf(0.5 + confidence / 2)
  p = k / n
  centre = (p + z * z / (2 * n)) / (1 + z * z / n)
  half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
  return Fraction(k, n, max(0.0, centre - half), min(1.0, centre + half))


def _enough(n: Sequence[int]) -> bool:
  return min(n) >= verdicts.MIN_REPLICATES


def cochran_armitage(k: Sequence[int], n: Sequence[int],
                     scores: Sequence[float]) -> CountTest:
  """Trend of the fractions k/n over groups with ordered ``scores``.

  Args:
    k: successes per group.
    n: replicates per group.
    scores: the groups' scores (e.g. log2 of the width), at least two
      distinct.

  Returns:
    ``CountTest(z, two-sided p, verdict)`` (see the module doc); z = 0 and
    p = 1 when every replicate has the same outcome.

  >>> str(cochran_armitage([0, 1, 3, 5], [5] * 4, [1, 2, 3, 4]))
  'grows (statistic +3.42, p = 0.000633)'
  """
  k, n, x = (np.asarray(v, np.float64) for v in (k, n, scores))
  if not k.shape == n.shape == x.shape or len(np.unique(x)) < 2:
    raise errors.InputError(
        f'a trend needs one count, total and score per group and two '
        f'distinct scores; got {k.size} counts, {n.size} totals, scores '
        f'{x.tolist()}.')
  big_n = n.sum()
  pbar = k.sum() / big_n
  t = float(np.sum(x * (k - n * pbar)))
  sxx = float(np.sum(n * x * x) - np.sum(n * x) ** 2 / big_n)
  var = pbar * (1 - pbar) * sxx
  if var <= 0:
    return CountTest(0.0, 1.0, NO_TREND if _enough(n) else
                verdicts.INSUFFICIENT)
  z = t / np.sqrt(var)
  p = float(2 * stats.norm.sf(abs(z)))
  if not _enough(n):
    verdict = verdicts.INSUFFICIENT
  elif p >= ALPHA:
    verdict = NO_TREND
  else:
    verdict = GROWS if z > 0 else SHRINKS
  return CountTest(float(z), p, verdict)


def compare(a: tuple[int, int], b: tuple[int, int]) -> CountTest:
  """Fisher's exact test of arm a's fraction k/n against arm b's.

  Returns:
    ``CountTest(difference of the fractions, two-sided p, verdict)``.

  >>> str(compare((5, 5), (0, 5)))
  'more (statistic +1.00, p = 0.00794)'
  """
  (ka, na), (kb, nb) = a, b
  wilson(ka, na), wilson(kb, nb)  # validates the counts
  p = float(stats.fisher_exact([[ka, na - ka], [kb, nb - kb]]).pvalue)
  diff = ka / na - kb / nb
  if not _enough([na, nb]):
    verdict = verdicts.INSUFFICIENT
  elif p >= ALPHA:
    verdict = verdicts.INDISTINGUISHABLE
  else:
    verdict = MORE if diff > 0 else FEWER
  return CountTest(diff, p, verdict)
