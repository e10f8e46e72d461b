"""How much to prune: bisection on a quadratic bowl with a known answer."""
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import landscape
from lth_jax import pruning
from lth_jax.landscape import basin


def bowl():
  """L(w) = 0.5 sum h_i (w_i - w*_i)^2 at its minimum w*: removing w*_i
  costs 0.5 h_i w*_i^2."""
  rng = np.random.default_rng(0)
  w_star = rng.normal(size=100)
  h = rng.uniform(0.5, 4.0, size=100)
  params = {'w': jnp.asarray(w_star, jnp.float32), 'b': jnp.zeros(1)}
  masks = {'w': jnp.ones(100, bool), 'b': None}

  def loss_at(p, m):
    w = pruning.apply_masks(p, m)['w']
    return 0.5 * float(jnp.sum(h * (w - w_star) ** 2))

  return params, masks, loss_at, w_star, h


def prune(p, m, f):
  return pruning.prune_layerwise(p, m, f)


def test_measured_fraction_matches_brute_force():
  params, masks, loss_at, w_star, h = bowl()
  threshold = 0.5
  got = landscape.max_prune_fraction(loss_at, params, masks, prune,
                                     threshold, steps=14)
  # Brute force: the cost of removing the j smallest |w*|.
  order = np.argsort(np.abs(w_star))
  costs = np.cumsum(0.5 * h[order] * w_star[order] ** 2)
  kept_count = 100 - round((1 - got.fraction) * 100)
  assert costs[kept_count - 1] <= threshold + 1e-6
  # One more weight would exceed it (bisection resolution 0.99 / 2^14).
  more = 100 - round((1 - got.fraction - 0.01) * 100)
  assert more == kept_count or costs[kept_count] > threshold
  assert all(v <= threshold for f, v, ok in got.tried if ok)


def test_eigenvalue_rule_is_conservative_on_the_bowl():
  params, masks, loss_at, _, h = bowl()
  measured = landscape.max_prune_fraction(loss_at, params, masks, prune,
                                          0.5).fraction
  predicted = landscape.predicted_max_fraction(params, masks, prune,
                                               h.max(), 0.5).fraction
  assert 0 < predicted <= measured
  # An isotropic bowl (h = lambda_max everywhere) makes the rule exact.
  def iso(p, m):
    return 0.5 * h.max() * float(landscape.projection_sq_norm(p, masks, m))
  exact = landscape.max_prune_fraction(iso, params, masks, prune, 0.5)
  assert exact.fraction == predicted
  with pytest.raises(ValueError, match='lambda_max'):
    landscape.predicted_max_fraction(params, masks, prune, 0.0, 0.5)


def test_bisect_checks_its_interval():
  assert basin.bisect(lambda f: f, 2.0).fraction == 0.99
  assert basin.bisect(lambda f: f, -1.0).fraction == 0.0
  with pytest.raises(ValueError, match='lo < hi'):
    basin.bisect(lambda f: f, 0.1, lo=0.5, hi=0.4)
