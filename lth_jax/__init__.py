"""lth-jax: the Lottery Ticket Hypothesis in JAX/Flax.

The pure pruning API works on any params pytree (Flax, Haiku, Equinox
leaves, NNX ``State``)::

  import lth_jax
  masks = lth_jax.ones_like(params)                  # None for biases
  masks = lth_jax.prune_global(trained, masks, 0.2, level=1)
  start = lth_jax.rewind(init_params, masks)         # winning-ticket init
  lth_jax.sparsity_report(masks)['fraction']

Subpackages, bottom up: ``pruning`` (pure functions), ``models``,
``data``; ``training`` (masked jitted steps, the engine); ``runs`` (run
layout, storage, lock); ``lottery`` (IMP, controls, sweeps); ``analysis``
(tables, figures, mask graphs, connectivity) and ``export``; ``studies``
(one folder per study: runner, schema, report). Importing ``lth_jax`` or
``lth_jax.pruning`` loads only JAX and the pure pruning functions; the other
subpackages (orbax, matplotlib, TensorFlow-datasets behind them) load on
first use, e.g. ``lth_jax.lottery``.
"""
import importlib

from lth_jax import pruning
from lth_jax.pruning import apply_masks
from lth_jax.pruning import check_mask_tree
from lth_jax.pruning import hamming_distance
from lth_jax.pruning import iou
from lth_jax.pruning import leaf_paths
from lth_jax.pruning import magnitude_scores
from lth_jax.pruning import ones_like
from lth_jax.pruning import prunable_paths
from lth_jax.pruning import prune_global
from lth_jax.pruning import prune_layerwise
from lth_jax.pruning import random_like
from lth_jax.pruning import rewind
from lth_jax.pruning import sparsity_report
from lth_jax.pruning.sparse_optax import wrap_optax

__version__ = '0.1.0'

_LAZY_SUBPACKAGES = ('analysis', 'data', 'export', 'lottery', 'models',
                     'runs', 'studies', 'training')


def __getattr__(name: str):
  """Loads a heavy subpackage on first access (PEP 562)."""
  if name in _LAZY_SUBPACKAGES:
    return importlib.import_module(f'lth_jax.{name}')
  raise AttributeError(f'module lth_jax has no attribute {name!r}')

__all__ = [
    'analysis', 'data', 'export', 'lottery', 'models', 'pruning', 'runs',
    'studies', 'training',
    'apply_masks', 'check_mask_tree', 'hamming_distance', 'iou', 'leaf_paths',
    'magnitude_scores', 'ones_like', 'prunable_paths', 'prune_global',
    'prune_layerwise', 'random_like', 'rewind', 'sparsity_report',
    'wrap_optax',
]
