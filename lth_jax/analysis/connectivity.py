"""Linear mode connectivity: interpolation paths and their error barrier.

Frankle, Dziugaite, Roy & Carbin 2020 ("Linear mode connectivity and the
lottery ticket hypothesis") call two trained networks W_a, W_b *linearly
connected* when the error along the segment ``(1 - alpha) W_a + alpha W_b``
does not rise above the end points. The instability (error barrier) is the
maximum error along the path minus the mean of the two end points' errors;
a start state is *stable* to SGD noise when two copies trained from it with
different data orders are connected (barrier below 2 %).

Everything here is pure: ``interpolate`` mixes two pytrees (a mask keeps
pruned weights exactly zero at every alpha), ``alpha_grid`` is the paper's
30 evenly spaced points with both end points, ``evaluate_path`` evaluates
all alphas of a path in one compiled program (``vmap`` over alpha) and
``barrier`` reduces a path to its instability. Batch-norm statistics at the
interpolated points are either recomputed on training batches
(``recompute_batch_stats``, the default of ``evaluate_path``) or
interpolated like the weights.
"""
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import errors as lth_errors
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import tree_paths

PyTree = Any
#: Batch-norm statistics at interpolated points (see ``evaluate_path``).
BATCH_NORM_MODES = ('recompute', 'interpolate')
#: Frankle et al. 2020: 30 evenly spaced points, end points included.
NUM_ALPHAS = 30
#: Frankle et al. 2020 call a start state stable below a 2 % barrier.
STABILITY_THRESHOLD = 0.02


def alpha_grid(num_points: int = NUM_ALPHAS) -> np.ndarray:
  """``num_points`` evenly spaced alphas in [0, 1], both end points included.

  >>> alpha_grid(5).tolist()
  [0.0, 0.25, 0.5, 0.75, 1.0]

  Raises:
    ValueError: for fewer than 2 points (a path needs both end points).
  """
  if isinstance(num_points, bool) or not isinstance(
      num_points, (int, np.integer)) or num_points < 2:
    raise lth_errors.InputError(
        f'an interpolation path needs at least 2 points (both '
        f'end points), got {num_points!r}: pass num_points >= 2 '
        f'(the paper uses {NUM_ALPHAS}).')
  return np.linspace(0.0, 1.0, int(num_points), dtype=np.float32)


def check_same_structure(tree_a: PyTree, tree_b: PyTree) -> None:
  """Raises ``ValueError`` naming the first leaf where two trees differ."""
  flat_a, def_a = jax.tree_util.tree_flatten_with_path(tree_a)
  flat_b, def_b = jax.tree_util.tree_flatten_with_path(tree_b)
  if def_a != def_b:
    paths_a = {tree_paths.path_to_str(p) for p, _ in flat_a}
    paths_b = {tree_paths.path_to_str(p) for p, _ in flat_b}
    diff = sorted(paths_a ^ paths_b)
    raise lth_errors.InputError(
        'the two end points of a path are not the same tree'
        f'{f" (first difference: {diff[0]!r})" if diff else ""}: '
        'interpolate networks of one model.')
  for (path, a), (_, b) in zip(flat_a, flat_b):
    if jnp.shape(a) != jnp.shape(b):
      raise lth_errors.InputError(
          f'the end points differ in shape at {tree_paths.path_to_str(path)!r}'
          f' ({jnp.shape(a)} vs {jnp.shape(b)}): interpolate networks of '
          'one model.')


def interpolate(params_a: PyTree, params_b: PyTree, alpha: Any,
                masks: PyTree = None) -> PyTree:
  """``(1 - alpha) * params_a + alpha * params_b``, leaf by leaf.

  ``alpha = 0`` gives ``params_a``, ``alpha = 1`` gives ``params_b``.
  With ``masks`` (bool, ``None`` for never-pruned leaves), pruned weights
  are exactly zero at every alpha, whatever the end points hold there.
  ``alpha`` may be traced (``vmap`` over it).

  >>> a, b = {'w': jnp.array([0., 2.])}, {'w': jnp.array([4., 6.])}
  >>> interpolate(a, b, 0.25)['w'].tolist()
  [1.0, 3.0]
  >>> interpolate(a, b, 0.5, {'w': jnp.array([True, False])})['w'].tolist()
  [2.0, 0.0]

  Raises:
    ValueError: if the trees differ, or ``masks`` does not match them.
  """
  check_same_structure(params_a, params_b)
  if masks is not None:
    masks_lib.check_mask_tree(params_a, masks)
  alpha = jnp.asarray(alpha, jnp.float32)

  def mix(a, b):
    dtype = jnp.result_type(a)
    if not jnp.issubdtype(dtype, jnp.inexact):
      return a  # counters and other integers are not interpolated
    return ((1 - alpha) * a + alpha * b).astype(dtype)

  mixed = jax.tree.map(mix, params_a, params_b)
  return mixed if masks is None else masks_lib.apply_masks(mixed, masks)


def barrier(errors: Any) -> Any:
  """Max along the path minus the mean of its end points (last axis).

  >>> round(float(barrier(np.array([0.1, 0.5, 0.3]))), 6)
  0.3
  """
  path = jnp.asarray(errors)
  if path.shape[-1] < 2:
    raise lth_errors.InputError(
        f'a path needs at least 2 points, got shape {path.shape}: evaluate '
        'it on alpha_grid(n >= 2).')
  return path.max(-1) - (path[..., 0] + path[..., -1]) / 2


def recompute_batch_stats(apply_fn: Callable[..., Any], params: PyTree,
                          batch_stats: PyTree, images: jax.Array) -> PyTree:
  """Batch-norm statistics of ``params`` recomputed on training batches.

  The result is the mean over batches of each batch's statistics (what
  PyTorch's cumulative ``momentum=None`` gives), independent of the
  running averages in ``batch_stats`` (used only for their structure) and
  of the model's momentum: a train-mode pass from zero statistics returns
  ``(1 - m) * s`` for a batch's statistic ``s``, and one more pass from
  ones measures ``m``.

  Args:
    apply_fn: the model's ``apply`` (``train=True`` updates
      ``batch_stats``).
    params: the (masked) params.
    batch_stats: the structure to fill; ``{}`` returns ``{}``.
    images: ``[num_batches, batch_size, ...]`` training inputs.

  Returns:
    A tree like ``batch_stats``.
  """
  if not jax.tree.leaves(batch_stats):
    return batch_stats

  def updated(stats, x):
    _, new = apply_fn({'params': params, 'batch_stats': stats}, x,
                      train=True, mutable=['batch_stats'])
    return new['batch_stats']

  zeros = jax.tree.map(jnp.zeros_like, batch_stats)
  ones = jax.tree.map(jnp.ones_like, batch_stats)
  first = updated(zeros, images[0])
  # m per leaf: the update from ones minus the one from zeros, averaged.
  kept = jax.tree.map(lambda u1, u0: jnp.mean(u1 - u0),
                      updated(ones, images[0]), first)
  total = jax.lax.fori_loop(
      1, images.shape[0],
      lambda i, acc: jax.tree.map(jnp.add, acc, updated(zeros, images[i])),
      first)
  return jax.tree.map(lambda t, m: t / (images.shape[0] * (1 - m)), total,
                      kept)


def path_metrics(eval_fn: Callable[[dict[str, PyTree]], Any],
                 variables_a: dict[str, PyTree],
                 variables_b: dict[str, PyTree], alphas: Any,
                 masks: PyTree = None,
                 stats_fn: Callable[[PyTree, PyTree], PyTree] | None = None
                 ) -> Any:
  """``eval_fn`` at every alpha of the path, vmapped over alpha.

  Traceable: call it inside ``jax.jit`` (``evaluate_path`` does) so that
  all alphas run as one program; a driver evaluating many paths jits it
  once with the data as an argument.

  Args:
    eval_fn: maps ``{'params', 'batch_stats'}`` to metrics (any pytree of
      scalars, e.g. ``{'error': .., 'loss': ..}``).
    variables_a: the end point at alpha 0, ``{'params', 'batch_stats'}``.
    variables_b: the end point at alpha 1.
    alphas: ``[n]`` (``alpha_grid``).
    masks: the params' masks: pruned weights stay zero along the path.
    stats_fn: ``stats_fn(params, batch_stats) -> batch_stats`` applied at
      every point (``recompute_batch_stats`` bound to the model and
      training batches); None keeps the interpolated statistics.

  Returns:
    ``eval_fn``'s metrics with a leading axis of ``len(alphas)``.
  """
  alphas = jnp.asarray(alphas, jnp.float32)
  if alphas.ndim != 1 or alphas.shape[0] < 2:
    raise lth_errors.InputError(f'a path needs at least 2 alphas, got shape '
                     f'{alphas.shape}: use alpha_grid(n >= 2).')
  check_same_structure(variables_a, variables_b)
  if masks is not None:
    masks_lib.check_mask_tree(variables_a['params'], masks)

  def at(alpha):
    params = interpolate(variables_a['params'], variables_b['params'], alpha,
                         masks)
    stats = interpolate(variables_a.get('batch_stats', {}),
                        variables_b.get('batch_stats', {}), alpha)
    if stats_fn is not None:
      stats = stats_fn(params, stats)
    return eval_fn({'params': params, 'batch_stats': stats})

  return jax.vmap(at)(alphas)


def evaluate_path(eval_fn: Callable[[dict[str, PyTree]], Any],
                  variables_a: dict[str, PyTree],
                  variables_b: dict[str, PyTree], alphas: Any,
                  masks: PyTree = None,
                  stats_fn: Callable[[PyTree, PyTree], PyTree] | None = None
                  ) -> Any:
  """``path_metrics`` compiled as one program (arguments as there).

  >>> loss = lambda v: {'error': (v['params']['w'] - 1.) ** 2}
  >>> a, b = {'params': {'w': jnp.zeros(())}}, {'params': {'w': jnp.full((),
  ...                                                               2.)}}
  >>> evaluate_path(loss, a, b, alpha_grid(3))['error'].tolist()
  [1.0, 0.0, 1.0]
  """
  return jax.jit(lambda va, vb, al, m: path_metrics(
      eval_fn, va, vb, al, m, stats_fn))(variables_a, variables_b, alphas,
                                         masks)
