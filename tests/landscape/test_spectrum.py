"""Curvature against the explicit Hessian of a tiny MLP (float64)."""
import jax
from jax import flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import landscape
from lth_jax import pruning
from lth_jax.landscape import lanczos as lanczos_lib


def mlp_loss(params, batch):
  """A 2-layer tanh MLP (10 -> 14 -> 4: 214 params), cross-entropy."""
  x, y = batch
  h = jnp.tanh(x @ params['hidden']['kernel'] + params['hidden']['bias'])
  logits = h @ params['output']['kernel'] + params['output']['bias']
  logp = jax.nn.log_softmax(logits)
  return -jnp.mean(jnp.take_along_axis(logp, y[:, None], 1))


def problem(seed=0, n=96):
  rng = np.random.default_rng(seed)
  params = {'hidden': {'kernel': rng.normal(size=(10, 14)) / 3,
                       'bias': rng.normal(size=14) / 3},
            'output': {'kernel': rng.normal(size=(14, 4)) / 3,
                       'bias': rng.normal(size=4) / 3}}
  masks = {'hidden': {'kernel': rng.random((10, 14)) < 0.6, 'bias': None},
           'output': {'kernel': rng.random((14, 4)) < 0.6, 'bias': None}}
  x = rng.normal(size=(n, 10))
  y = rng.integers(0, 4, n)
  params = jax.tree.map(jnp.asarray, params)
  masks = jax.tree.map(jnp.asarray, masks)
  batches = landscape.split_batches((jnp.asarray(x), jnp.asarray(y)), 32)
  return params, masks, batches


def explicit_hessian(params, masks, batches):
  """jax.hessian of the masked loss on all examples at once (the mean of
  equal batches' means), independent of the code under test."""
  flat, unravel = flatten_util.ravel_pytree(params)
  everything = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]),
                            batches)
  f = lambda v: mlp_loss(pruning.apply_masks(unravel(v), masks), everything)
  return np.asarray(jax.hessian(f)(flat))


def kept(params, masks):
  op = lanczos_lib.flat_hessian(mlp_loss, params, masks,
                                landscape.split_batches(
                                    (jnp.zeros((1, 10)),
                                     jnp.zeros(1, int)), 1))
  return np.asarray(op.mask) > 0


@pytest.fixture(scope='module')
def x64():
  with jax.enable_x64(True):
    params, masks, batches = problem()
    yield params, masks, batches, explicit_hessian(params, masks, batches)


def test_hvp_is_the_masked_hessian_times_v(x64):
  params, masks, batches, h = x64
  with jax.enable_x64(True):
    keep = kept(params, masks)
    # Pruned coordinates have zero rows and columns, kept ones do not.
    assert np.all(h[~keep] == 0) and np.all(h[:, ~keep] == 0)
    # (A hidden unit whose output weights are all pruned has zero
    # curvature too, so not every kept column is nonzero.)
    assert (np.abs(h[np.ix_(keep, keep)]).sum(0) > 0).mean() > 0.9
    v = np.random.default_rng(1).normal(size=h.shape[0])
    _, unravel = flatten_util.ravel_pytree(params)
    got = flatten_util.ravel_pytree(landscape.hessian_vector_product(
        mlp_loss, params, masks, unravel(jnp.asarray(v)), batches))[0]
    np.testing.assert_allclose(got, h @ v, rtol=1e-10, atol=1e-12)
    # Negative case: the unmasked Hessian differs on the kept block too
    # (pruned weights change the activations).
    dense = jax.tree.map(lambda m: None, masks, is_leaf=lambda m: m is None)
    unmasked = flatten_util.ravel_pytree(landscape.hessian_vector_product(
        mlp_loss, params, dense, unravel(jnp.asarray(v * keep)),
        batches))[0]
    assert not np.allclose(np.asarray(unmasked)[keep], (h @ v)[keep],
                           atol=1e-6)
    # The batched mean is the mean over all examples.
    whole = jax.tree.map(lambda a: a.reshape((1, -1) + a.shape[2:]),
                         batches)
    np.testing.assert_allclose(
        landscape.dataset_loss(mlp_loss, params, masks, batches),
        landscape.dataset_loss(mlp_loss, params, masks, whole), rtol=1e-12)


def test_top_eigenvalues_match_the_explicit_hessian(x64):
  params, masks, batches, h = x64
  with jax.enable_x64(True):
    keep = kept(params, masks)
    want = np.sort(np.linalg.eigvalsh(h[np.ix_(keep, keep)]))[::-1][:5]
    dim = int(keep.sum())
    got = landscape.top_eigenvalues(mlp_loss, params, masks, batches,
                                    jax.random.key(0), k=5,
                                    num_iterations=dim)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    ref = landscape.eigsh_top_eigenvalues(mlp_loss, params, masks, batches,
                                          k=5, tol=1e-10)
    np.testing.assert_allclose(ref.values, want, rtol=1e-4)
    assert ref.num_products >= 5
    # More steps than the subspace has dimensions are flagged.
    with pytest.raises(ValueError, match='dimension of the mask subspace'):
      landscape.top_eigenvalues(mlp_loss, params, masks, batches,
                                jax.random.key(0), num_iterations=dim + 1)


def test_lanczos_vmaps_over_replicates(x64):
  params, masks, batches, h = x64
  with jax.enable_x64(True):
    p2, m2, _ = problem(seed=3)
    stacked = jax.tree.map(lambda a, b: jnp.stack([a, b]), params, p2)
    smasks = jax.tree.map(
        lambda a, b: None if a is None else jnp.stack([a, b]), masks, m2,
        is_leaf=lambda m: m is None)
    keys = jax.random.split(jax.random.key(2), 2)
    top = jax.vmap(lambda p, m, k: landscape.top_eigenvalues(
        mlp_loss, p, m, batches, k, k=3, num_iterations=40))(
            stacked, smasks, keys)
    # Replicate 0 is the fixture's network: its explicit top 3.
    keep = kept(params, masks)
    want = np.sort(np.linalg.eigvalsh(h[np.ix_(keep, keep)]))[::-1][:3]
    np.testing.assert_allclose(top[0], want, rtol=1e-6)
    assert not np.allclose(top[0], top[1], rtol=1e-3)


def test_trace_and_density(x64):
  params, masks, batches, h = x64
  with jax.enable_x64(True):
    exact = np.trace(h)
    mean, stderr = landscape.hutchinson_trace(
        mlp_loss, params, masks, batches, jax.random.key(4), num_probes=64)
    assert 0 < stderr < 0.2 * abs(exact)
    assert abs(mean - exact) < 3 * stderr
    nodes, weights = landscape.spectral_density(
        mlp_loss, params, masks, batches, jax.random.key(5), num_probes=8,
        num_iterations=40)
    np.testing.assert_allclose(weights.sum(-1), 1, rtol=1e-9)
    dim = kept(params, masks).sum()
    slq = dim * float((weights * nodes).sum(-1).mean())
    assert abs(slq - exact) < 0.25 * abs(exact)
    # The largest node of a probe is the top eigenvalue.
    top = np.linalg.eigvalsh(h).max()
    np.testing.assert_allclose(nodes.max(-1), top, rtol=1e-6)


def test_slq_density_matches_the_explicit_eigenvalues(x64):
  """The smoothed SLQ density against the Gaussian-smoothed histogram of
  the explicit masked Hessian's eigenvalues (L1 distance on a grid); the
  unmasked Hessian's spectrum and a 1.3x stretched one are further off."""
  params, masks, batches, h = x64
  keep = kept(params, masks)
  eig = np.linalg.eigvalsh(h[np.ix_(keep, keep)])
  with jax.enable_x64(True):
    nodes, weights = landscape.spectral_density(
        mlp_loss, params, masks, batches, jax.random.key(5), num_probes=8,
        num_iterations=40)
  grid = np.linspace(eig.min() - 0.1, eig.max() + 0.1, 2001)
  dx = grid[1] - grid[0]

  def smoothed(values):
    return landscape.density_on_grid(
        [values], [np.full(len(values), 1 / len(values))], grid, 0.02)

  exact = smoothed(eig)
  l1 = lambda d: float(np.abs(d - exact).sum() * dx)
  assert l1(landscape.density_on_grid(nodes, weights, grid, 0.02)) < 0.12
  assert l1(smoothed(np.linalg.eigvalsh(h))) > 0.3
  assert l1(smoothed(1.3 * eig)) > 0.15
