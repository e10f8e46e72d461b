"""Verdicts over replicates: intervals against SciPy, and the cases a
fixed tolerance or a comparison of means gets wrong."""
import numpy as np
import pytest
from scipy import stats

from lth_jax.analysis import verdicts


def test_welch_interval_matches_scipy():
  a, b = [98.1, 97.7, 98.3, 98.0], [97.2, 97.9, 97.4]
  c = verdicts.compare(a, b)
  ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
  np.testing.assert_allclose([c.low, c.high], [ref.low, ref.high],
                             rtol=1e-12)
  assert c.diff == pytest.approx(np.mean(a) - np.mean(b))
  assert (c.n_a, c.n_b, c.paired) == (4, 3, False)


def test_paired_interval_matches_scipy_and_is_narrower_for_shared_seeds():
  # Seeds move both arms together; the ablation costs 0.2 each time.
  base = np.array([97.5, 98.2, 97.9, 98.4])
  ablated = base - np.array([0.18, 0.22, 0.2, 0.19])
  c = verdicts.compare(ablated, base, paired=True)
  ref = stats.ttest_rel(ablated, base).confidence_interval(0.95)
  np.testing.assert_allclose([c.low, c.high], [ref.low, ref.high],
                             rtol=1e-12)
  assert c.verdict == verdicts.WORSE
  # Unpaired, the seed spread hides the same effect.
  assert verdicts.compare(ablated, base).verdict == (
      verdicts.INDISTINGUISHABLE)
  with pytest.raises(ValueError, match='paired'):
    verdicts.compare([1., 2., 3.], [1., 2.], paired=True)


def test_small_gap_with_small_spread_is_worse_not_a_match():
  # 0.25 points below: a 0.3-point tolerance calls it a match.
  c = verdicts.compare([97.75, 97.65, 97.85], [98.0, 97.9, 98.1])
  assert c.verdict == verdicts.WORSE and c.high < 0


def test_large_gap_within_spread_is_indistinguishable():
  # Means 0.5 apart: a comparison of means calls the first better.
  c = verdicts.compare([98.9, 97.1, 98.5], [97.9, 98.1, 97.0])
  assert c.diff > 0.4 and c.verdict == verdicts.INDISTINGUISHABLE


def test_fewer_than_three_replicates_decide_nothing():
  c = verdicts.compare([99.0, 99.1], [90.0, 90.2])
  assert c.verdict == verdicts.INSUFFICIENT and c.low > 0
  assert verdicts.compare([99.0], [90.0, 90.1, 90.2]).verdict == (
      verdicts.INSUFFICIENT)
  with pytest.raises(ValueError, match='non-finite'):
    verdicts.compare([1., np.nan, 2.], [1., 2., 3.])


def test_identical_constant_arms_are_indistinguishable():
  assert verdicts.compare([97.] * 3, [97.] * 3).verdict == (
      verdicts.INDISTINGUISHABLE)
  assert verdicts.compare([97.1] * 3, [97.] * 3).verdict == verdicts.BETTER


def test_against_a_threshold():
  assert verdicts.against([1.2, 1.4, 1.3], 2.0).verdict == verdicts.WORSE
  assert verdicts.against([0.5, 3.9, 1.6], 2.0).verdict == (
      verdicts.INDISTINGUISHABLE)


def test_winning_ticket_is_judged_against_dense_not_a_lower_reference():
  dense_acc, dense_stop = [97.72, 97.5, 97.97], [3000, 4000, 3000]
  # The early-masking case: a ticket that matches a one-shot full-mask
  # ticket (96.92) but lies 0.8 points below dense does not win.
  below = verdicts.winning_ticket([96.88, 96.96, 97.06], dense_acc,
                                  [2000, 2000, 2500], dense_stop)
  assert below.wins is False and below.accuracy.verdict == verdicts.WORSE
  assert verdicts.compare([96.88, 96.96, 97.06], [96.87, 96.92, 96.99]
                          ).verdict == verdicts.INDISTINGUISHABLE
  # Within noise of dense and earlier: wins.
  win = verdicts.winning_ticket([97.6, 97.9, 97.8], dense_acc,
                                [2000, 2250, 2500], dense_stop)
  assert win.wins is True
  # As accurate, but later than dense: does not win.
  late = verdicts.winning_ticket([98.2, 98.1, 98.3], dense_acc,
                                 [4000, 4250, 4000], dense_stop)
  assert late.wins is False and late.stop_diff > 0
  two = verdicts.winning_ticket([98.2, 98.1], dense_acc[:2], [1, 1],
                                [2, 2])
  assert two.wins is None and 'insufficient' in str(two)


def test_rows_need_their_replicate_values():
  row = {'branch': 'trunk', 'level': 3, 'early_stop_test_acc_mean': 98.}
  with pytest.raises(ValueError, match='per-replicate'):
    verdicts.compare_rows(row, row)
  a = {'early_stop_test_acc_values': [1., 2., 3.], 'replicate_ids': [0, 1, 2]}
  b = dict(a, replicate_ids=[3, 4, 5])
  assert verdicts.compare_rows(a, a, paired=True).paired
  assert not verdicts.compare_rows(a, b, paired=True).paired


def test_winning_table_judges_each_level_against_dense():
  from lth_jax.analysis import tables  # pylint: disable=import-outside-toplevel
  def row(level, pct, accs, stops):
    return dict(run='', branch='trunk', level=level, replicate_ids=[0, 1, 2],
                weights_remaining_pct=pct, early_stop_test_acc_values=accs,
                early_stop_step_values=stops)
  rows = [row(0, 100., [97.5, 97.7, 98.0], [3000., 4000., 3000.]),
          row(1, 80., [98.0, 98.1, 98.3], [2000., 2250., 2000.]),
          row(2, 64., [97.0, 97.1, 97.3], [2000., 2250., 2000.]),
          row(3, 51., [98.0, 98.1, 98.3], [4000., 4250., 4000.]),
          dict(row(4, 41., [98.0, 98.1, 98.3], [1., 1., 1.]),
               branch='random_reinit')]
  lines = tables.winning_markdown(rows).splitlines()[2:]
  assert [line.split(' | ')[-1] for line in lines] == [
      'wins |', 'does not win |', 'does not win |']   # below; later
  assert lines[1].startswith('| 64.0 | -0.60')
