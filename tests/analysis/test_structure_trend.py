"""Separated fractions, their Wilson intervals and the two count tests."""
import numpy as np
import pytest
from scipy import stats

from lth_jax import errors
from lth_jax.analysis import structure_trend as trend


@pytest.mark.parametrize('k,n', [(0, 5), (2, 5), (5, 5), (7, 10), (1, 13)])
def test_wilson_matches_scipy(k, n):
  ci = stats.binomtest(k, n).proportion_ci(0.95, method='wilson')
  got = trend.wilson(k, n)
  np.testing.assert_allclose([got.low, got.high], [ci.low, ci.high],
                             atol=1e-12)
  # Not the normal (Wald) interval, which collapses to [0, 0] at 0 of n.
  assert got.low < k / n < got.high or k in (0, n)
  assert got.high - got.low > 0.2


def individuals(k, n, scores):
  x = np.repeat(scores, n)
  y = np.concatenate([[1] * ki + [0] * (ni - ki) for ki, ni in zip(k, n)])
  return x, y


def test_cochran_armitage_is_the_correlation_over_replicates():
  k, n, x = [0, 2, 1, 5, 0, 3], [5, 5, 6, 5, 4, 5], np.log2(
      [38, 47, 57, 64, 70, 85])
  got = trend.cochran_armitage(k, n, x)
  xs, ys = individuals(k, n, x)
  r = stats.pearsonr(xs, ys).statistic
  np.testing.assert_allclose(got.statistic, np.sqrt(len(xs)) * r, rtol=1e-10)
  np.testing.assert_allclose(
      got.p, 2 * stats.norm.sf(abs(got.statistic)), rtol=1e-12)
  # The 0, 2, 1, 5, 0, 3 of 5: no trend at 5 %.
  assert got.verdict == trend.NO_TREND and got.p > 0.05


def test_cochran_armitage_verdicts_and_negative_cases():
  x = [1, 2, 3, 4]
  assert trend.cochran_armitage([0, 2, 8, 10], [10] * 4, x).verdict == (
      trend.GROWS)
  assert trend.cochran_armitage([10, 8, 2, 0], [10] * 4, x).verdict == (
      trend.SHRINKS)
  # A flat profile and a permuted one have no trend, although the second
  # has the same counts as the growing one (a test that ignored the order
  # of the groups would call both 'grows').
  assert trend.cochran_armitage([5] * 4, [10] * 4, x).verdict == (
      trend.NO_TREND)
  assert trend.cochran_armitage([8, 0, 10, 2], [10] * 4, x).verdict == (
      trend.NO_TREND)
  # Group sizes count: 1 of 2 against 100 of 200 is no evidence of a trend,
  # 0 of 40 against 40 of 40 is.
  assert trend.cochran_armitage([0, 1], [40, 40], [0, 1]).verdict == (
      trend.NO_TREND)
  assert trend.cochran_armitage([0, 40], [40, 40], [0, 1]).verdict == (
      trend.GROWS)
  same = trend.cochran_armitage([0, 0, 0], [5, 5, 5], [1, 2, 3])
  assert same.verdict == trend.NO_TREND and same.p == 1.0
  assert trend.cochran_armitage([0, 2], [2, 2], [1, 2]).verdict == (
      'insufficient replicates')
  with pytest.raises(errors.InputError, match='two distinct scores'):
    trend.cochran_armitage([1, 2], [5, 5], [3, 3])


def test_compare_is_fishers_exact_test():
  assert trend.compare((5, 5), (0, 5)).verdict == trend.MORE
  assert trend.compare((0, 5), (5, 5)).verdict == trend.FEWER
  # 3 of 5 against 1 of 5 is within the spread of 5 replicates.
  c = trend.compare((3, 5), (1, 5))
  np.testing.assert_allclose(c.p, stats.fisher_exact([[3, 2], [1, 4]]).pvalue)
  assert c.verdict == 'indistinguishable' and c.statistic == pytest.approx(
      0.4)
  assert trend.compare((2, 2), (0, 2)).verdict == 'insufficient replicates'
  with pytest.raises(errors.InputError, match='not a fraction'):
    trend.compare((6, 5), (0, 5))


def test_separated_counts_outcomes_that_split_at_some_level():
  outcomes = [{'outcome': o} for o in (
      'separated', 'separated-degraded', 'degraded', 'interconnected')]
  assert trend.separated(outcomes) == (2, 4)
