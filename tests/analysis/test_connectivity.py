"""Interpolation paths and barriers (lth_jax.analysis.connectivity)."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax.analysis import connectivity


def double_well(variables):
  """A hand-made loss of one parameter: (w^2 - 1)^2, zero at w = +-1."""
  w = variables['params']['w']
  return {'error': (w ** 2 - 1) ** 2}


def end_points(a=-1.0, b=1.0):
  return ({'params': {'w': jnp.asarray(a)}},
          {'params': {'w': jnp.asarray(b)}})


def test_alpha_grid_has_both_end_points_evenly_spaced():
  alphas = connectivity.alpha_grid()
  assert alphas.shape == (30,)
  assert alphas[0] == 0.0 and alphas[-1] == 1.0
  np.testing.assert_allclose(np.diff(alphas), 1 / 29, rtol=1e-5)
  assert connectivity.alpha_grid(2).tolist() == [0.0, 1.0]


@pytest.mark.parametrize('n', [1, 0, -3, 2.5, True])
def test_fewer_than_two_points_is_an_error_naming_the_fix(n):
  with pytest.raises(ValueError, match='at least 2 points.*num_points >= 2'):
    connectivity.alpha_grid(n)


def test_barrier_of_the_double_well_is_known_in_closed_form():
  a, b = end_points()
  # Five points: alpha = 0.5 (w = 0) is on the grid, the barrier is 1.
  path = connectivity.evaluate_path(double_well, a, b,
                                    connectivity.alpha_grid(5))['error']
  np.testing.assert_allclose(path, [0, 0.5625, 1, 0.5625, 0], atol=1e-6)
  assert float(connectivity.barrier(path)) == pytest.approx(1.0, abs=1e-6)
  # Thirty points: the closest alphas to 0.5 are 14/29 and 15/29, where
  # w = -+1/29, so the barrier is (1 - 1/29^2)^2.
  path = connectivity.evaluate_path(double_well, a, b,
                                    connectivity.alpha_grid(30))['error']
  assert float(connectivity.barrier(path)) == pytest.approx(
      (1 - 1 / 29 ** 2) ** 2, rel=1e-5)
  # Within one well (w from 1 to 2 the loss rises monotonically to 9):
  # the maximum is an end point, so the barrier is 9 - (0 + 9) / 2.
  a, b = end_points(1.0, 2.0)
  path = connectivity.evaluate_path(double_well, a, b,
                                    connectivity.alpha_grid())['error']
  assert float(connectivity.barrier(path)) == pytest.approx(4.5, rel=1e-5)


def test_barrier_is_max_minus_mean_of_end_points_per_row():
  errors = np.array([[0.1, 0.4, 0.2], [0.2, 0.1, 0.2]])
  np.testing.assert_allclose(connectivity.barrier(errors), [0.25, 0.0],
                             atol=1e-7)
  with pytest.raises(ValueError, match='at least 2 points'):
    connectivity.barrier(np.zeros((3, 1)))


def test_interpolation_end_points_are_exact():
  key_a, key_b = jax.random.split(jax.random.key(0))
  a = {'w': jax.random.normal(key_a, (4, 3)), 'b': jnp.arange(3.0)}
  b = {'w': jax.random.normal(key_b, (4, 3)), 'b': -jnp.arange(3.0)}
  for alpha, want in ((0.0, a), (1.0, b)):
    got = connectivity.interpolate(a, b, alpha)
    for leaf, expected in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
      np.testing.assert_array_equal(leaf, expected)
  mid = connectivity.interpolate(a, b, 0.5)
  np.testing.assert_allclose(mid['w'], (a['w'] + b['w']) / 2, rtol=1e-6)
  np.testing.assert_array_equal(mid['b'], np.zeros(3))


def test_masked_weights_are_exactly_zero_along_the_whole_path():
  key_a, key_b, key_m = jax.random.split(jax.random.key(1), 3)
  # End points with nonzero values where the mask prunes: the path must
  # still hold exact zeros there, at every alpha.
  a = {'w': jax.random.normal(key_a, (50,)) + 3.0, 'b': jnp.ones(2)}
  b = {'w': jax.random.normal(key_b, (50,)) - 3.0, 'b': jnp.ones(2)}
  masks = {'w': jax.random.bernoulli(key_m, 0.3, (50,)), 'b': None}
  alphas = connectivity.alpha_grid()
  path = jax.vmap(lambda t: connectivity.interpolate(a, b, t, masks))(alphas)
  pruned = ~np.asarray(masks['w'])
  assert pruned.sum() > 10
  assert np.all(np.asarray(path['w'])[:, pruned] == 0.0)
  kept = np.asarray(path['w'])[:, ~pruned]
  assert np.all(kept != 0.0)
  np.testing.assert_array_equal(path['b'], np.ones((30, 2)))
  # The same through evaluate_path: what eval_fn sees is masked.
  seen = connectivity.evaluate_path(
      lambda v: {'pruned_abs_sum': jnp.abs(
          jnp.where(masks['w'], 0.0, v['params']['w'])).sum()},
      {'params': a}, {'params': b}, alphas, masks)
  assert np.all(np.asarray(seen['pruned_abs_sum']) == 0.0)


def test_mask_tree_not_matching_the_params_is_an_error_naming_the_fix():
  a = {'dense': {'kernel': jnp.ones((2, 2)), 'bias': jnp.ones(2)}}
  wrong = {'dense': {'kernel': jnp.ones((2, 3), bool), 'bias': None}}
  with pytest.raises(ValueError, match='masks must be shaped like params'):
    connectivity.interpolate(a, a, 0.5, wrong)
  missing = {'other': {'kernel': jnp.ones((2, 2), bool), 'bias': None}}
  with pytest.raises(ValueError, match='ones_like'):
    connectivity.interpolate(a, a, 0.5, missing)
  with pytest.raises(ValueError, match='not the same tree'):
    connectivity.interpolate(a, {'dense': {'kernel': jnp.ones((2, 2))}}, 0.5)


def test_all_alphas_are_one_program():
  traces = []

  def eval_fn(variables):
    traces.append(1)  # runs once per trace, not once per alpha
    return double_well(variables)

  a, b = end_points()
  out = connectivity.evaluate_path(eval_fn, a, b, connectivity.alpha_grid())
  assert out['error'].shape == (30,) and len(traces) == 1


class BatchNormNet(nn.Module):

  @nn.compact
  def __call__(self, x, train=False):
    x = nn.Dense(3)(x)
    return nn.BatchNorm(use_running_average=not train, momentum=0.7)(x)


def test_recomputed_batch_stats_are_the_mean_of_batch_statistics():
  model = BatchNormNet()
  images = jax.random.normal(jax.random.key(2), (4, 16, 5)) * 3 + 1
  variables = model.init(jax.random.key(3), images[0])
  params = variables['params']
  # Stale running statistics: the recomputation must not depend on them.
  stale = jax.tree.map(lambda x: x + 5.0, variables['batch_stats'])
  stats = connectivity.recompute_batch_stats(model.apply, params, stale,
                                             images)
  h = images @ params['Dense_0']['kernel'] + params['Dense_0']['bias']
  np.testing.assert_allclose(stats['BatchNorm_0']['mean'],
                             h.mean(1).mean(0), rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(stats['BatchNorm_0']['var'],
                             h.var(1).mean(0), rtol=1e-4, atol=1e-5)
  assert connectivity.recompute_batch_stats(model.apply, params, {},
                                            images) == {}
