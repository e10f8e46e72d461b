"""The emergence estimate's evaluation (early_masking.evaluation and
estimate_report): an estimate that follows the cases beats the
leave-one-out constant; one that ignores them does not."""
import numpy as np
import pytest

from lth_jax import errors
from lth_jax import files
from lth_jax.studies.early_masking import estimate_report
from lth_jax.studies.early_masking import evaluation

GRID = [0, 100, 200, 400, 800, 1200, 2000]


def cases(seed=0, n=12):
  """Measured emergence positions that depend on the case (a learning rate
  and a sparsity), with one position of noise."""
  rng = np.random.default_rng(seed)
  base = np.array([1, 2, 4, 5] * (n // 4), float)
  return np.clip(base + rng.integers(-1, 2, size=n), 0, len(GRID) - 1)


def test_leave_one_out_constant_is_not_fit_on_its_case():
  # The best constant of all four cases is 1; for the outlier 9 it is
  # chosen on the others only, for each 1 on {1, 1, 9}: both 1.
  np.testing.assert_array_equal(
      evaluation.leave_one_out_constants([1, 1, 1, 9]), [1, 1, 1, 1])
  # A constant fit on all cases, case included, would give 5 for [1, 9]:
  # leave-one-out gives each the other's value.
  np.testing.assert_array_equal(evaluation.leave_one_out_constants([1, 9]),
                                [9, 1])


def test_an_estimate_that_follows_the_case_is_useful():
  measured = cases()
  rng = np.random.default_rng(1)
  noisy = measured + rng.choice([0, 0, 0, 1], size=measured.size)
  e = evaluation.evaluate(noisy, measured)
  assert e.useful and e.comparison.verdict == 'better'
  assert e.estimate_mae < e.constant_mae
  assert e.exact == int(np.sum(noisy == measured))


@pytest.mark.parametrize('ignores', ['constant', 'shuffled', 'random'])
def test_an_estimate_that_ignores_the_case_is_not_useful(ignores):
  measured = cases()
  rng = np.random.default_rng(2)
  predicted = {'constant': np.full(measured.size, 4.0),  # "step 800"
               'shuffled': rng.permutation(measured),
               'random': rng.integers(0, len(GRID), measured.size)}[ignores]
  e = evaluation.evaluate(predicted, measured)
  assert not e.useful
  assert e.comparison.verdict in ('worse', 'indistinguishable')


def test_bad_input_is_refused():
  with pytest.raises(errors.InputError, match='one value per case'):
    evaluation.evaluate([1, 2], [1, 2, 3])
  with pytest.raises(errors.InputError, match='no predicted or no measured'):
    evaluation.evaluate([1, np.nan, 2], [1, 2, 3])
  with pytest.raises(errors.InputError, match='not a timing point'):
    evaluation.grid_positions([300], GRID)


def test_estimate_csvs_become_cases(tmp_path):
  rows = [{'learning_rate': lr, 'level': 7, 'weights_remaining_pct': 21.07,
           'replicate': r, 'predicted': p, 'measured': m,
           'timing_points': ' '.join(map(str, GRID))}
          for lr, r, p, m in ((1.2e-3, 0, 800, 800), (1.2e-3, 1, None, 1200),
                              (3e-4, 0, 800, None), (3e-4, 1, 400, 2000),
                              (3e-4, 2, 800, 1200))]
  path = tmp_path / 'oneshot_estimate.csv'
  files.write_csv(path, rows)
  got = estimate_report.read_cases([path])
  assert [c['predicted'] for c in got] == [800, 2000, 800, 400, 800]
  result = estimate_report.evaluate_cases(got)
  assert len(result['dropped']) == 1 and len(result['rows']) == 4
  assert [r['measured_pos'] for r in result['rows']] == [4, 5, 6, 5]
  assert [r['estimate_error_pos'] for r in result['rows']] == [0, 1, 3, 1]
  # Leave-one-out constants: the medians of the other three positions.
  assert [r['constant_pos'] for r in result['rows']] == [5, 5, 5, 5]
  assert 'insufficient' not in result['positions'].comparison.verdict
  with pytest.raises(errors.MissingInputError):
    estimate_report.read_cases([tmp_path / 'none.csv'])
