"""Uniform, ER and ERK layer densities: closed forms and exact counts."""
import math

import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax.pruning import distributions

LENET = [(784, 300), (300, 100), (100, 10)]


def _masks(shapes):
  return {f'l{i}': {'kernel': jnp.ones(s, bool), 'bias': None}
          for i, s in enumerate(shapes)}


def test_erk_lenet_closed_form_keeps_output_dense():
  # At 10 %, eps * raw > 1 for the output layer only: it is kept dense and
  # eps is solved over the other two, whose densities are then
  # eps * sum(shape) / prod(shape) with eps = budget / sum(sum(shape)).
  total = sum(math.prod(s) for s in LENET)
  budget = 0.1 * total - 1000
  eps = budget / (1084 + 400)
  expected = [eps * 1084 / 235200, eps * 400 / 30000, 1.0]
  got = distributions.layer_densities(LENET, 0.1, 'erk')
  np.testing.assert_allclose(got, expected, rtol=1e-12)
  counts = distributions.layer_counts(_masks(LENET), 0.1, 'erk')
  flat = [counts[f'l{i}']['kernel'] for i in range(3)]
  assert sum(flat) == round(0.1 * total)
  assert flat[2] == 1000 and counts['l0']['bias'] is None
  assert abs(flat[0] - expected[0] * 235200) <= 1


def test_er_ignores_kernel_dims_erk_does_not():
  shapes = [(3, 3, 1, 8), (3, 3, 8, 16), (400, 10)]
  er = distributions.layer_densities(shapes, 0.2, 'er')
  erk = distributions.layer_densities(shapes, 0.2, 'erk')
  sizes = [math.prod(s) for s in shapes]
  for d in (er, erk):
    assert math.isclose(sum(x * n for x, n in zip(d, sizes)),
                        0.2 * sum(sizes))
  # ER: second conv vs dense layer ratio from (n_in + n_out)/(n_in n_out).
  assert math.isclose(er[1] / er[2], (24 / 128) / (410 / 4000))
  assert math.isclose(erk[1] / erk[2], (30 / 1152) / (410 / 4000))
  assert er[1] / er[2] != pytest.approx(erk[1] / erk[2])


@pytest.mark.parametrize('distribution', distributions.DISTRIBUTIONS)
@pytest.mark.parametrize('density', [0.5, 0.2, 0.05, 0.02, 0.001])
def test_counts_sum_to_target(distribution, density):
  shapes = [(5, 5, 1, 6), (7, 3), (33, 17), (4, 4)]
  counts = distributions.layer_counts(_masks(shapes), density, distribution)
  flat = [counts[f'l{i}']['kernel'] for i in range(len(shapes))]
  total = sum(math.prod(s) for s in shapes)
  assert sum(flat) == round(density * total)
  assert all(0 <= c <= math.prod(s) for c, s in zip(flat, shapes))
  if distribution == 'uniform':
    for c, s in zip(flat, shapes):
      assert abs(c - density * math.prod(s)) < 1 + 1e-9


def test_random_masks_have_exact_counts_and_bad_input_raises():
  import jax  # pylint: disable=import-outside-toplevel
  shapes = [(20, 12), (12, 3)]
  m = distributions.random_masks(jax.random.key(1), _masks(shapes), 0.2)
  want = distributions.layer_counts(_masks(shapes), 0.2, 'erk')
  for i in range(2):
    assert int(m[f'l{i}']['kernel'].sum()) == want[f'l{i}']['kernel']
  with pytest.raises(ValueError, match='outside'):
    distributions.layer_densities(LENET, 1.5, 'erk')
  with pytest.raises(ValueError, match='unknown sparsity distribution'):
    distributions.layer_densities(LENET, 0.5, 'erdos')
