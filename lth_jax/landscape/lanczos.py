"""Hessian spectra from Hessian-vector products: Lanczos, Hutchinson, SLQ.

All estimates act on the Hessian ``M H M`` of the masked loss (see
``hvp.hessian_vector_product``) through products only, as PyHessian (Yao
et al. 2020) does:

* ``top_eigenvalues``: the largest Ritz values of ``num_iterations``
  Lanczos steps with full reorthogonalisation (twice-repeated classical
  Gram-Schmidt against every stored vector), started from a Rademacher
  vector in the mask's subspace. Pure JAX: ``jit`` and ``vmap`` over
  replicates (params, masks and keys stacked) apply. Memory is the
  ``(num_iterations + 1) x n`` basis, never ``n x n``.
* ``eigsh_top_eigenvalues``: the same eigenvalues by ARPACK
  (``scipy.sparse.linalg.eigsh`` on a ``LinearOperator``), a reference.
* ``hutchinson_trace``: ``tr(M H M)`` as the mean of ``z' H z`` over
  Rademacher probes ``z`` (zero on pruned coordinates), with its standard
  error.
* ``spectral_density``: stochastic Lanczos quadrature (Ghorbani et al.
  2019): per probe, the Ritz values are the nodes and the squared first
  components of the Ritz vectors the weights of a quadrature for the
  spectral measure; ``density_on_grid`` smooths them with a Gaussian.

The Lanczos helpers work on flat vectors (``jax.flatten_util.ravel_pytree``).
"""
from typing import Any, Callable, NamedTuple

import jax
from jax import flatten_util
import jax.numpy as jnp
import numpy as np
from scipy.sparse import linalg as sparse_linalg

from lth_jax import errors
from lth_jax.landscape import hvp as hvp_lib
from lth_jax.pruning import masks as masks_lib

PyTree = Any
Matvec = Callable[[jax.Array], jax.Array]


class Tridiagonal(NamedTuple):
  """Lanczos' output: ``T = tridiag(betas, alphas, betas)`` and the basis.

  Attributes:
    alphas: ``[m]`` diagonal.
    betas: ``[m]``; ``betas[:-1]`` is the off-diagonal, ``betas[-1]`` the
      residual norm after the last step (0 after a breakdown).
    basis: ``[m + 1, n]`` orthonormal rows (zero rows after a breakdown).
  """
  alphas: jax.Array
  betas: jax.Array
  basis: jax.Array

  def matrix(self) -> jax.Array:
    off = self.betas[:-1]
    return jnp.diag(self.alphas) + jnp.diag(off, 1) + jnp.diag(off, -1)


def lanczos_tridiagonal(matvec: Matvec, v0: jax.Array, num_iterations: int
            ) -> Tridiagonal:
  """``num_iterations`` Lanczos steps with full reorthogonalisation.

  A breakdown (the Krylov space is invariant, e.g. after as many steps as
  the subspace has dimensions) sets the next vector to zero; later steps
  then add zero rows and Ritz values 0 with zero weight.

  >>> a = jnp.diag(jnp.array([3., 1., 2.]))
  >>> t = lanczos_tridiagonal(lambda x: a @ x, jnp.ones(3), 3)
  >>> sorted(np.round(np.linalg.eigvalsh(t.matrix()), 4).tolist())
  [1.0, 2.0, 3.0]
  """
  m = int(num_iterations)
  if m < 1:
    raise errors.InputError(
        f'num_iterations must be >= 1, got {num_iterations!r}.')
  dtype = v0.dtype
  tiny = jnp.finfo(dtype).eps ** 0.5
  basis = jnp.zeros((m + 1,) + v0.shape, dtype)
  basis = basis.at[0].set(v0 / jnp.linalg.norm(v0))

  def step(j, carry):
    basis, alphas, betas = carry
    q = basis[j]
    w = matvec(q)
    alpha = jnp.vdot(q, w)
    scale = jnp.linalg.norm(w)
    for _ in range(2):  # CGS2: orthogonal to every stored vector
      w = w - basis.T @ (basis @ w)
    beta = jnp.linalg.norm(w)
    ok = beta > tiny * jnp.maximum(scale, jnp.finfo(dtype).tiny)
    nxt = jnp.where(ok, w / jnp.where(ok, beta, 1), jnp.zeros_like(w))
    return (basis.at[j + 1].set(nxt), alphas.at[j].set(alpha),
            betas.at[j].set(jnp.where(ok, beta, 0)))

  init = (basis, jnp.zeros(m, dtype), jnp.zeros(m, dtype))
  basis, alphas, betas = jax.lax.fori_loop(0, m, step, init)
  return Tridiagonal(alphas, betas, basis)


def ritz(t: Tridiagonal) -> tuple[jax.Array, jax.Array]:
  """Ritz values (ascending) and their quadrature weights (``e1' u``)^2."""
  values, vectors = jnp.linalg.eigh(t.matrix())
  return values, vectors[0] ** 2


class FlatHessian(NamedTuple):
  """The masked Hessian as an operator on flat vectors.

  Attributes:
    matvec: ``x [n] -> (M H M) x [n]``.
    mask: ``[n]`` 1 on kept coordinates (never-pruned leaves included).
    unravel: flat ``[n]`` -> a tree like params.
  """
  matvec: Matvec
  mask: jax.Array
  unravel: Callable[[jax.Array], PyTree]


def flat_hessian(loss_fn: hvp_lib.LossFn, params: PyTree, masks: PyTree,
                 batches: Any) -> FlatHessian:
  """``hessian_vector_product`` at ``params`` as a flat operator
  (traceable)."""
  masks_lib.check_mask_tree(params, masks)
  flat, unravel = flatten_util.ravel_pytree(params)
  ones = jax.tree.map(
      lambda m, p: jnp.ones_like(p) if m is None else m.astype(p.dtype),
      masks, params, is_leaf=lambda x: x is None)
  mask = flatten_util.ravel_pytree(ones)[0].astype(flat.dtype)

  def matvec(x):
    out = hvp_lib.hessian_vector_product(loss_fn, params, masks,
                                         unravel(x), batches)
    return flatten_util.ravel_pytree(out)[0]

  return FlatHessian(matvec, mask, unravel)


def rademacher_probe(key: jax.Array, mask: jax.Array) -> jax.Array:
  """A +-1 vector on the kept coordinates, 0 on pruned ones."""
  return jax.random.rademacher(key, mask.shape, mask.dtype) * mask


def _check_iterations(mask: jax.Array, num_iterations: int, k: int) -> None:
  if k < 1 or k > num_iterations:
    raise errors.InputError(f'k ({k}) must be in [1, num_iterations] '
                     f'({num_iterations}): Lanczos gives num_iterations Ritz '
                     'values.')
  if not isinstance(mask, jax.core.Tracer):
    dim = int(np.asarray(mask).sum())
    if num_iterations > dim:
      raise errors.InputError(f'num_iterations ({num_iterations}) exceeds the '
                       f'dimension of the mask subspace ({dim}): use at '
                       f'most {dim}.')


def top_eigenvalues(loss_fn: hvp_lib.LossFn, params: PyTree, masks: PyTree,
                    batches: Any, key: jax.Array, k: int = 5,
                    num_iterations: int = 20) -> jax.Array:
  """The ``k`` largest eigenvalues of ``M H M`` (descending), by Lanczos.

  The extreme eigenvalues converge first: on a trained LeNet-300-100, 20
  steps agree with ARPACK to 1e-6 relative (``benchmarks/hessian_speed``);
  clustered spectra (e.g. at initialisation) need more steps for the 4th
  and 5th. Vmappable over (params, masks, key) with ``batches`` shared.
  """
  op = flat_hessian(loss_fn, params, masks, batches)
  _check_iterations(op.mask, num_iterations, k)
  t = lanczos_tridiagonal(op.matvec, rademacher_probe(key, op.mask),
                          num_iterations)
  values, _ = ritz(t)
  return values[::-1][:k]


class EigshResult(NamedTuple):
  """ARPACK's eigenvalues (descending) and how many products it took."""
  values: np.ndarray
  num_products: int


def eigsh_top_eigenvalues(loss_fn: hvp_lib.LossFn, params: PyTree,
                          masks: PyTree, batches: Any, k: int = 5,
                          tol: float = 1e-6, seed: int = 0) -> EigshResult:
  """The ``k`` largest eigenvalues by ARPACK over jitted products."""
  op = flat_hessian(loss_fn, params, masks, batches)
  mask = np.asarray(op.mask)
  _check_iterations(mask, max(k, 1), k)
  matvec = jax.jit(op.matvec)
  dtype = op.mask.dtype
  n = mask.shape[0]
  calls = []

  def product(x):
    calls.append(1)
    return np.asarray(matvec(jnp.asarray(np.ravel(x), dtype)), np.float64)

  operator = sparse_linalg.LinearOperator((n, n), dtype=np.float64,
                                          matvec=product)
  v0 = np.random.default_rng(seed).choice([-1.0, 1.0], n) * mask
  values = sparse_linalg.eigsh(operator, k=k, which='LA', tol=tol, v0=v0,
                               return_eigenvectors=False)
  return EigshResult(np.sort(values)[::-1], len(calls))


def hutchinson_trace(loss_fn: hvp_lib.LossFn, params: PyTree, masks: PyTree,
                     batches: Any, key: jax.Array, num_probes: int = 10
                     ) -> tuple[jax.Array, jax.Array]:
  """``tr(M H M)`` by Hutchinson: the mean of ``z' H z`` and its std error.

  Vmappable over (params, masks, key).
  """
  if num_probes < 2:
    raise errors.InputError(
        f'num_probes must be >= 2 (a standard error needs two '
        f'samples), got {num_probes!r}.')
  op = flat_hessian(loss_fn, params, masks, batches)

  def sample(k):
    z = rademacher_probe(k, op.mask)
    return jnp.vdot(z, op.matvec(z))

  samples = jax.lax.map(sample, jax.random.split(key, num_probes))
  return samples.mean(), samples.std(ddof=1) / jnp.sqrt(num_probes)


def spectral_density(loss_fn: hvp_lib.LossFn, params: PyTree, masks: PyTree,
                     batches: Any, key: jax.Array, num_probes: int = 4,
                     num_iterations: int = 30
                     ) -> tuple[jax.Array, jax.Array]:
  """Stochastic Lanczos quadrature: nodes and weights ``[num_probes, m]``.

  Each probe's weights sum to 1; ``density_on_grid`` turns them into a
  density of the eigenvalues, and ``dim * sum(weights * nodes) /
  num_probes`` estimates the trace (``dim``: the subspace dimension).
  """
  op = flat_hessian(loss_fn, params, masks, batches)
  _check_iterations(op.mask, num_iterations, 1)

  def probe(k):
    z = rademacher_probe(k, op.mask)
    return ritz(lanczos_tridiagonal(op.matvec, z, num_iterations))

  return jax.lax.map(probe, jax.random.split(key, num_probes))


def density_on_grid(nodes: Any, weights: Any, grid: Any, sigma: float
                    ) -> np.ndarray:
  """The SLQ density on ``grid``: Gaussians of width ``sigma``, averaged.

  >>> d = density_on_grid([[0.]], [[1.]], np.linspace(-5, 5, 1001), .5)
  >>> round(float(d.sum() * 0.01), 3)
  1.0
  """
  nodes = np.asarray(nodes, np.float64)[..., None]
  weights = np.asarray(weights, np.float64)[..., None]
  grid = np.asarray(grid, np.float64)
  gauss = np.exp(-0.5 * ((grid - nodes) / sigma) ** 2) / (
      sigma * np.sqrt(2 * np.pi))
  return (weights * gauss).sum(-2).mean(0)
