"""Pruning at initialisation as branches of a trunk, and the sanity checks.

Each branch level ``L`` prunes the weights trunk level ``L`` starts from
(the init when rewinding to init) with a scorer of
``lth_jax.pruning.scores`` to the trunk level's sparsity, then trains
exactly as the trunk level does (``branches.start_state``):

* ``<method>``: the same *global* count as the trunk level; the method
  chooses its own per-layer fractions (as published);
* ``<method>_layer``: the trunk level's per-layer counts (one-shot
  methods);

for ``<method>`` in ``magnitude_init``, ``snip``, ``grasp``, ``grasp_abs``
and ``synflow`` (100 rounds). Random pruning at both scopes is
``random_prune_global`` / ``random_prune_layer`` (``branches``).

Sanity checks (Frankle et al. 2021), as branches of any control
(``register_ablations``), registered here for every method above and for
the IMP ticket itself (``imp``):

* ``<name>_shuffled``: the mask permuted within each layer (per-layer
  counts kept);
* ``<name>_reinit``: the same mask on freshly sampled initial weights;
* ``<name>_inverted``: keep the weights the scores would prune (scorers
  only; SynFlow inverts every round).

``imp_reinit`` is the same experiment as ``random_reinit`` and
``imp_shuffled`` draws from the same distribution as
``random_prune_layer`` (a uniform permutation of each layer's mask); they
are registered so that every ablation has one name per subject.

SNIP and GraSP score ``PER_CLASS`` training examples of every class drawn
with the branch key; batch norm, if any, uses batch statistics there (the
network in training mode) and inference mode (absolute running means) in
SynFlow.
"""
import hashlib
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from lth_jax import config_lists
from lth_jax import errors
from lth_jax import pruning
from lth_jax.lottery import branches
from lth_jax.lottery import imp
from lth_jax.runs import storage
from lth_jax.lottery.experiment import Experiment
from lth_jax.pruning import ablations
from lth_jax.pruning import scores as scores_lib
from lth_jax.pruning import scoring
from lth_jax.pruning import selection
from lth_jax.training.progress import Progress

PyTree = Any

#: Examples per class in SNIP's and GraSP's scoring batch.
PER_CLASS = 10
#: SynFlow's rounds (Tanaka et al. 2020).
SYNFLOW_ROUNDS = 100
#: Branch method -> scorer name.
METHODS = {'magnitude_init': 'magnitude', 'snip': 'snip', 'grasp': 'grasp',
           'grasp_abs': 'grasp_abs', 'synflow': 'synflow'}
#: Sub-streams of a branch level's control key.
_SCORE_STREAM, _ABLATION_STREAM = 0, 1


def logits_fn(exp: Experiment, batch_stats: PyTree
              ) -> Callable[[PyTree, jax.Array], jax.Array]:
  """``fn(params, images) -> logits``; batch norm on batch statistics."""
  def fn(params, images):
    variables = {'params': params, 'batch_stats': batch_stats}
    if not jax.tree.leaves(batch_stats):
      return exp.model.apply(variables, images, train=False)
    logits, _ = exp.model.apply(variables, images, train=True,
                                mutable=['batch_stats'])
    return logits
  return fn


_OUTPUT_FNS: dict[tuple[int, str], tuple[Any, Callable]] = {}


def synflow_output_fn(model: Any, batch_stats: PyTree
                      ) -> Callable[[PyTree, jax.Array], jax.Array]:
  """``fn(params, x)``: the model in inference mode on ``|batch_stats|``.

  Cached per (model, statistics) so that SynFlow's compiled round is
  reused across levels and replicates.
  """
  stats = jax.tree.map(lambda x: np.abs(np.asarray(x)), batch_stats)
  digest = hashlib.sha256(b''.join(
      x.tobytes() for x in jax.tree.leaves(stats))).hexdigest()
  key = (id(model), digest)
  if key not in _OUTPUT_FNS or _OUTPUT_FNS[key][0] is not model:
    def fn(params, x):
      return model.apply({'params': params, 'batch_stats': stats}, x,
                         train=False)
    _OUTPUT_FNS[key] = (model, fn)
  return _OUTPUT_FNS[key][1]


def score_weights(exp: Experiment, method: str, variables: dict[str, Any],
                  key: jax.Array, density: float = 1.0,
                  inverted: bool = False) -> PyTree:
  """The scores of ``METHODS[method]`` for ``variables`` on dense masks.

  Args:
    exp: the experiment (model and training data).
    method: a key of ``METHODS``.
    variables: ``{'params', 'batch_stats'}`` to score.
    key: chooses the scoring batch (SNIP, GraSP).
    density: SynFlow's final density (its rounds need it).
    inverted: negate the scores (SynFlow: in every round).

  Returns:
    The score tree (higher = keep).
  """
  if method not in METHODS:
    raise errors.InputError(
        f'unknown pruning-at-init method {method!r}; known: '
        f'{", ".join(sorted(METHODS))}.')
  params, stats = variables['params'], variables['batch_stats']
  dense = exp.dense_masks(params)
  name = METHODS[method]
  kwargs: dict[str, Any] = {}
  if name in ('snip', 'grasp', 'grasp_abs'):
    kwargs['loss_fn'] = scores_lib.classification_loss(logits_fn(exp, stats))
    kwargs['batch'] = scores_lib.class_balanced_batch(
        key, exp.dataset.train_images, exp.dataset.train_labels, PER_CLASS)
  elif name == 'synflow':
    kwargs.update(output_fn=synflow_output_fn(exp.model, stats),
                  input_shape=(1,) + tuple(exp.dataset.train_images.shape[1:]),
                  density=density, rounds=SYNFLOW_ROUNDS, inverted=inverted)
  scores = scoring.score(name, params, dense, key=key, **kwargs)
  if inverted and name != 'synflow':
    scores = scores_lib.invert(scores)
  return scores


def select(scores: PyTree, target: PyTree, scope: str) -> PyTree:
  """Masks from dense ``scores`` with the counts of ``target``.

  ``scope='global'`` keeps the top ``sum(counts)`` over all layers;
  ``'layer'`` keeps each layer's own count.

  >>> s = {'a': jnp.array([1., 9.]), 'b': jnp.array([5., 3.])}
  >>> t = {'a': jnp.array([True, False]), 'b': jnp.array([True, False])}
  >>> select(s, t, 'global')['a'], select(s, t, 'layer')['a']
  (Array([False,  True], dtype=bool), Array([False,  True], dtype=bool))
  """
  dense = jax.tree.map(lambda m: None if m is None else jnp.ones_like(m),
                       target, is_leaf=pruning.masks.is_none)
  if scope == 'global':
    total = sum(int(c) for c in selection.count_true(
        pruning.masks.mask_leaves(target)))
    return selection.top_k_global(scores, dense, total)
  if scope == 'layer':
    counts = jax.tree.map(
        lambda m: None if m is None else selection.count_true([m])[0],
        target, is_leaf=pruning.masks.is_none)
    return selection.top_k_per_leaf(scores, dense, counts)
  raise errors.InputError(f"unknown scope {scope!r}; use 'global' or 'layer'.")


def method_control(method: str, scope: str = 'global',
                   inverted: bool = False) -> branches.Control:
  """The control pruning the trunk start's weights by ``method``."""
  def control(exp, replicate, key, trunk):
    del replicate
    total = sum(int(c) for c in selection.count_true(
        pruning.masks.mask_leaves(trunk.masks)))
    size = sum(int(m.size) for m in pruning.masks.mask_leaves(trunk.masks))
    scores = score_weights(exp, method, trunk.variables,
                           jax.random.fold_in(key, _SCORE_STREAM),
                           density=total / size, inverted=inverted)
    return trunk.variables, select(scores, trunk.masks, scope)
  control.__doc__ = (f'{method} at the trunk level\'s {scope} counts'
                     f'{" (inverted)" if inverted else ""}.')
  return control


def trunk_control(exp, replicate, key, trunk):
  """The IMP ticket itself: the trunk level's weights and mask."""
  del exp, replicate, key
  return trunk.variables, trunk.masks


def shuffled(control: branches.Control) -> branches.Control:
  """``control`` with its masks permuted within each layer."""
  def wrapped(exp, replicate, key, trunk):
    variables, masks = control(exp, replicate, key, trunk)
    return variables, ablations.shuffle_within_layers(
        jax.random.fold_in(key, _ABLATION_STREAM), masks)
  return wrapped


def reinitialised(control: branches.Control) -> branches.Control:
  """``control``'s masks on freshly sampled initial weights."""
  def wrapped(exp, replicate, key, trunk):
    _, masks = control(exp, replicate, key, trunk)
    return exp.init_variables(
        replicate, key=jax.random.fold_in(key, _ABLATION_STREAM)), masks
  return wrapped


def register_ablations(name: str, control: branches.Control,
                       inverted: branches.Control | None = None) -> None:
  """Registers ``<name>_shuffled``, ``<name>_reinit`` (and ``_inverted``)."""
  branches.register_branch(f'{name}_shuffled')(shuffled(control))
  branches.register_branch(f'{name}_reinit')(reinitialised(control))
  if inverted is not None:
    branches.register_branch(f'{name}_inverted')(inverted)


def _register_all() -> None:
  register_ablations('imp', trunk_control)
  for method in METHODS:
    control = method_control(method)
    branches.register_branch(method)(control)
    if method != 'synflow':  # SynFlow's rounds are global by design.
      branches.register_branch(f'{method}_layer')(
          method_control(method, 'layer'))
    register_ablations(method, control,
                       method_control(method, inverted=True))


_register_all()


def parse_levels(levels: str, max_level: int) -> list[int]:
  """``'3,6,9'`` -> ``[3, 6, 9]``; ``''`` -> every level ``1..max_level``.

  >>> parse_levels('9,3', 15), parse_levels('', 2)
  ([3, 9], [1, 2])
  """
  if not levels.strip():
    return list(range(1, max_level + 1))
  try:
    out = sorted(set(config_lists.items(levels, int)))
  except ValueError as e:
    raise errors.InputError(
        f'levels {levels!r} must be comma-separated integers, '
        'e.g. 3,6,9,12,15.') from e
  bad = [x for x in out if not 1 <= x <= max_level]
  if bad:
    raise errors.InputError(
        f'levels {bad} are outside 1..{max_level} (the trunk\'s '
        'pruning.levels; level 0 is the dense network).')
  return out


def run_branches(config: ml_collections.ConfigDict, workdir: str,
                 names: Sequence[str], levels: str = '',
                 dataset: Any = None) -> dict[str, list[dict[str, Any]]]:
  """Runs (or resumes) branches of a finished trunk at some of its levels.

  Args:
    config: the trunk's config (the same run hash).
    workdir: the trunk's workdir.
    names: registered branch names, run one after the other.
    levels: comma-separated trunk levels (``''``: all of them).
    dataset: optional preloaded ``lth_jax.data.Dataset`` (tests).

  Returns:
    ``{branch: its per-level summaries}``.

  Raises:
    ValueError: for an unknown branch or a bad level.
    FileNotFoundError: if a needed trunk level is missing.
  """
  for name in names:
    branches.get_branch(name)
  chosen = parse_levels(levels, config.pruning.levels)
  with imp.locked_experiment(config, workdir, dataset) as exp:
    for name in names:
      branches.run_levels(exp, name, Progress(enabled=config.progress),
                          levels=chosen)
  return {name: storage.collect(exp.run_dir, name) for name in names}
