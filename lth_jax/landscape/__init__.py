"""The error landscape of sparse networks: curvature, basins, projections.

Pure functions over params, masks and a loss (any Flax model):

* ``hvp``: Hessian-vector products restricted to a mask's subspace, on a
  loss averaged over a data set in fixed batches (no Hessian is built);
* ``lanczos``: top eigenvalues (JAX Lanczos, vmappable over replicates, or
  ``scipy.sparse.linalg.eigsh``), Hutchinson traces, and the spectral
  density by stochastic Lanczos quadrature;
* ``basin``: how much of a trained solution one-shot magnitude pruning can
  remove before its projection leaves the basin, measured by bisection and
  predicted from the top Hessian eigenvalue.
"""
from lth_jax.landscape.basin import max_prune_fraction
from lth_jax.landscape.basin import predicted_max_fraction
from lth_jax.landscape.basin import projection_sq_norm
from lth_jax.landscape.hvp import dataset_loss
from lth_jax.landscape.hvp import hessian_vector_product
from lth_jax.landscape.hvp import masked_loss
from lth_jax.landscape.hvp import split_batches
from lth_jax.landscape.lanczos import density_on_grid
from lth_jax.landscape.lanczos import eigsh_top_eigenvalues
from lth_jax.landscape.lanczos import hutchinson_trace
from lth_jax.landscape.lanczos import lanczos_tridiagonal
from lth_jax.landscape.lanczos import spectral_density
from lth_jax.landscape.lanczos import top_eigenvalues

__all__ = [
    'dataset_loss', 'density_on_grid', 'eigsh_top_eigenvalues',
    'hessian_vector_product', 'hutchinson_trace', 'lanczos_tridiagonal',
    'masked_loss', 'max_prune_fraction', 'predicted_max_fraction',
    'projection_sq_norm', 'spectral_density', 'split_batches',
    'top_eigenvalues',
]
