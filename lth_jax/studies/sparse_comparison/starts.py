"""Each method's start: weights and masks (or a sparse optimizer state).

* ``init``: the replicate's initial weights under a mask chosen at
  initialisation: ``random`` (a random mask with ``distribution``'s
  per-layer counts, or one global count), SNIP and SynFlow
  (``lottery.init_pruning.score_weights``: the registered scorers, SynFlow
  with its 100 rounds) keeping the top scores globally or per layer;
* ``oneshot``: the trunk's dense trained weights (IMP level 0) pruned by
  ``pruning.oneshot`` from ``calibration_size`` training inputs collected
  by ``training.activations``;
* ``dst``: the initial weights and a random ``distribution`` mask inside
  the state of ``pruning.sparse_optax.wrap_optax``.

Counts: ``distributions.layer_counts`` per layer, or the global count
``round(density * N)`` for ``global``.
"""
from typing import Any
import zlib

import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import pruning
from lth_jax.lottery import imp
from lth_jax.studies.init_pruning import runner as init_pruning
from lth_jax.lottery.experiment import Experiment
from lth_jax.pruning import distributions
from lth_jax.pruning import oneshot
from lth_jax.pruning import scores as scores_lib
from lth_jax.pruning import selection
from lth_jax.studies.sparse_comparison import schema
from lth_jax.training import activations

PyTree = Any
#: The study's randomness stream of a replicate (masks, SET growth).
SPARSE_STREAM = 30


def method_key(exp: Experiment, replicate: int, label: str,
               density: float) -> jax.Array:
  """The key of one (method, density) of a replicate."""
  return jax.random.fold_in(exp.replicate_key(replicate, SPARSE_STREAM),
                           zlib.crc32(f'{label}@{density:.6g}'.encode()))


def select(scores: PyTree, dense: PyTree, density: float,
           distribution: str) -> PyTree:
  """Masks keeping the top ``scores`` at ``density``."""
  if distribution == 'global':
    total = sum(int(np.size(m)) for m in pruning.masks.mask_leaves(dense))
    return selection.top_k_global(scores, dense, round(density * total))
  counts = distributions.layer_counts(dense, density, distribution)
  return distributions.keep_counts(scores, dense, counts)


def init_masks(exp: Experiment, method: schema.Method, replicate: int,
               density: float, variables: dict[str, Any]) -> PyTree:
  """An ``init`` method's masks on the replicate's initial weights."""
  key = method_key(exp, replicate, method.label, density)
  dense = exp.dense_masks(variables['params'])
  if method.name == 'random':
    scores = scores_lib.random(variables['params'], dense, key=key)
  else:
    scores = init_pruning.score_weights(exp, method.name, variables, key,
                                        density=density)
  return select(scores, dense, density, method.distribution)


def calibration_inputs(exp: Experiment, params: PyTree, batch_stats: PyTree,
                       size: int) -> dict[str, np.ndarray]:
  """Each layer's inputs on the first ``size`` training examples."""
  variables = {'params': params}
  if jax.tree.leaves(batch_stats):
    variables['batch_stats'] = batch_stats
  return activations.layer_inputs(exp.model.apply, variables,
                                  exp.data.train_images[:size], train=False)


def oneshot_start(exp: Experiment, method: schema.Method, replicate: int,
                  density: float, calibration_size: int
                  ) -> tuple[dict[str, Any], PyTree, dict[str, float]]:
  """The dense trunk's weights pruned one-shot: variables, masks, errors."""
  init = exp.init_variables(replicate)
  _, trained = imp.load_level(exp, replicate, 0, init)
  params, stats = trained['params'], trained['batch_stats']
  dense = exp.dense_masks(params)
  if method.name == 'magnitude' and method.distribution == 'global':
    masks = select(scores_lib.magnitude(params, dense), dense, density,
                   'global')
    return trained, masks, {}
  inputs = calibration_inputs(exp, params, stats, calibration_size)
  counts = distributions.layer_counts(dense, density, method.distribution)
  pruned = oneshot.prune_network(method.name, params, dense, inputs, counts)
  params = jax.tree.map(jnp.asarray, pruned.params)
  return ({'params': params, 'batch_stats': stats}, pruned.masks,
          pruned.errors)


def dst_masks(exp: Experiment, method: schema.Method, replicate: int,
              density: float, params: PyTree) -> PyTree:
  """SET/RigL's random initial masks."""
  key = method_key(exp, replicate, method.label, density)
  return distributions.random_masks(key, exp.dense_masks(params), density,
                                    method.distribution)
