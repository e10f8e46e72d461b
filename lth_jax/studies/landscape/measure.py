"""What the landscape study measures at one level of one trunk.

The level's trained solutions (one per replicate, each ``params * mask``)
are read from the trunk. Curvature (top eigenvalues and trace of the
masked Hessian of the training loss) runs as one program vmapped over the
replicates; paths (``lottery.instability.path_metrics``, built on
``analysis.connectivity``) and the basin bisections run per replicate.
"""
import functools
from typing import Any, Iterable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import errors
from lth_jax import landscape
from lth_jax.landscape import basin as basin_lib
from lth_jax import pruning
from lth_jax.analysis import connectivity
from lth_jax.studies.connectivity import instability
from lth_jax.lottery import imp
from lth_jax.lottery import strategies
from lth_jax.lottery.experiment import Experiment
from lth_jax.training import losses
from lth_jax.training import replicates as replicates_lib

#: The study's randomness stream (Lanczos starts and trace probes), after
#: the experiment's 0-2 and the other studies' 3.
LANDSCAPE_STREAM = 31
#: Bisection steps of the eigenvalue rule (only prunes and norms).
PREDICTED_STEPS = 20


Solution = tuple[Any, dict[str, Any]]


class Spec(NamedTuple):
  """The measurement settings (``config.landscape``); ``density_probes``
  SLQ probes of ``lanczos_iterations`` steps (0: no spectral density)."""
  top_k: int
  lanczos_iterations: int
  trace_probes: int
  num_alphas: int
  basin_threshold: float
  bisection_steps: int
  density_probes: int = 0


def spec_from_config(s: Any) -> Spec:
  """The ``Spec`` of a study config's ``landscape`` section."""
  return Spec(
      top_k=s.top_k, lanczos_iterations=s.lanczos_iterations,
      trace_probes=s.trace_probes, num_alphas=s.num_alphas,
      basin_threshold=s.basin_threshold, bisection_steps=s.bisection_steps,
      density_probes=s.density_probes)


class Data(NamedTuple):
  """Device inputs: Hessian batches and path data."""
  hessian_batches: Any
  path: instability.PathData


def study_data(exp: Experiment, hessian_examples: int, batch_size: int,
               eval_examples: int) -> Data:
  """The first training examples, cut into Hessian batches and a path set.

  Raises:
    ValueError: for more examples than the training split holds.
  """
  d = exp.data
  n = d.train_images.shape[0]
  for name, value in (('hessian_examples', hessian_examples),
                      ('eval_examples', eval_examples)):
    if not 1 <= value <= n:
      raise errors.InputError(f'landscape.{name} must be in [1, {n}] (the '
                       f'training examples), got {value!r}.')
  batches = landscape.split_batches(
      (d.train_images[:hessian_examples], d.train_labels[:hessian_examples]),
      batch_size)
  # Batch-norm statistics along a path: recomputed on the Hessian batches.
  path = instability.PathData(d.test_images, d.test_labels,
                              d.train_images[:eval_examples],
                              d.train_labels[:eval_examples], batches[0])
  return Data(batches, path)


def batch_loss(apply_fn: Any, batch_stats: Any, task: losses.Task) -> Any:
  """``loss(params, (x, y))``: the mean training loss in eval mode."""
  def loss(params, batch):
    variables = {'params': params}
    if jax.tree.leaves(batch_stats):
      variables['batch_stats'] = batch_stats
    logits = apply_fn(variables, batch[0], train=False)
    return losses.per_example(logits, batch[1], task)[0].mean()
  return loss


def load_solutions(exp: Experiment, levels: Iterable[int],
                   branch: str | None = None) -> dict[int, list[Solution]]:
  """Per level, each replicate's ``(masks, trained variables)``."""
  likes = [exp.init_variables(r) for r in range(exp.config.replicates)]
  return {level: [imp.load_level(exp, r, level, like, branch)
                  for r, like in enumerate(likes)] for level in levels}


@functools.partial(jax.jit, static_argnames=('apply_fn', 'task', 'top_k',
                                             'iterations', 'probes'))
def curvature(apply_fn: Any, task: losses.Task, params: Any,
              batch_stats: Any, masks: Any, keys: jax.Array, batches: Any,
              top_k: int, iterations: int, probes: int) -> dict[str, Any]:
  """Top eigenvalues ``[R, k]`` and Hutchinson trace ``[R]`` (and its
  standard error), vmapped over the stacked replicates ``R``."""
  def one(p, bs, m, key):
    loss = batch_loss(apply_fn, bs, task)
    k_top, k_trace = jax.random.split(key)
    top = landscape.top_eigenvalues(loss, p, m, batches, k_top, top_k,
                                    iterations)
    trace, stderr = landscape.hutchinson_trace(loss, p, m, batches,
                                               k_trace, probes)
    return {'top_eigenvalues': top, 'trace': trace, 'trace_stderr': stderr}
  return jax.vmap(one)(params, batch_stats, masks, keys)


@functools.partial(jax.jit, static_argnames=('apply_fn', 'task', 'probes',
                                             'iterations'))
def density(apply_fn: Any, task: losses.Task, params: Any, batch_stats: Any,
            masks: Any, keys: jax.Array, batches: Any, probes: int,
            iterations: int) -> tuple[jax.Array, jax.Array]:
  """SLQ nodes and weights ``[R, probes, iterations]`` (a program of its
  own: ``curvature``'s numbers do not depend on whether it runs)."""
  def one(p, bs, m, key):
    return landscape.spectral_density(
        batch_loss(apply_fn, bs, task), p, m, batches,
        jax.random.fold_in(key, 1), probes, iterations)
  return jax.vmap(one)(params, batch_stats, masks, keys)


def level_curvature(exp: Experiment, level: int, solutions: list[Any],
                    data: Data, spec: Spec) -> list[dict[str, Any]]:
  """``curvature`` of a level's solutions ``[(masks, variables), ...]``
  and, for ``spec.density_probes > 0``, their ``density``."""
  stack = replicates_lib.stack
  keys = jnp.stack([jax.random.fold_in(
      exp.replicate_key(r, LANDSCAPE_STREAM), level)
                    for r in range(len(solutions))])
  args = (exp.model.apply, exp.task,
          stack([v['params'] for _, v in solutions]),
          stack([v['batch_stats'] for _, v in solutions]),
          stack([m for m, _ in solutions]), keys, data.hessian_batches)
  out = jax.tree.map(np.asarray, curvature(
      *args, spec.top_k, spec.lanczos_iterations, spec.trace_probes))
  rows = [{'top_eigenvalues': out['top_eigenvalues'][r].tolist(),
           'lambda_max': float(out['top_eigenvalues'][r][0]),
           'trace': float(out['trace'][r]),
           'trace_stderr': float(out['trace_stderr'][r])}
          for r in range(len(solutions))]
  if spec.density_probes:
    nodes, weights = jax.tree.map(np.asarray, density(
        *args, spec.density_probes, spec.lanczos_iterations))
    for r, row in enumerate(rows):
      row.update(density_nodes=nodes[r].tolist(),
                 density_weights=weights[r].tolist())
  return rows


def masked(variables: dict[str, Any], masks: Any) -> dict[str, Any]:
  """A solution's effective weights: ``params * masks``."""
  return {'params': pruning.apply_masks(variables['params'], masks),
          'batch_stats': variables['batch_stats']}


def path(exp: Experiment, replicate: int, start: tuple[Any, Any],
         end: tuple[Any, Any], data: Data, num_alphas: int
         ) -> dict[str, Any]:
  """The straight path from solution ``start`` to ``end`` (each ``(masks,
  variables)``), under ``start``'s mask (``end``'s is a subset of it for
  IMP levels; the dense mask for a path from the dense network).

  Returns:
    ``instability.path_record``: per split the error and loss along the
    path, the error barrier (``instability``) and ``loss_barrier``.
  """
  masks = start[0]
  template = exp.new_state(start[1]['params'], start[1]['batch_stats'],
                           masks, replicate)
  alphas = connectivity.alpha_grid(num_alphas)
  metrics = instability.path_metrics(
      template, masked(start[1], start[0]), masked(end[1], end[0]), alphas,
      data.path, 'recompute', exp.config.training.eval_batch_size, exp.task)
  return instability.path_record(jax.tree.map(np.asarray, metrics), alphas)


def scaled_rates(layer_rates: str, rate: float, fraction: float
                 ) -> dict[str, float]:
  """The trunk's per-layer rates scaled so that its ``rate`` becomes
  ``fraction`` (the output layer keeps its ratio to the others).

  >>> scaled_rates('output/=0.1', 0.2, 0.5)
  {'output/': 0.25, '.*': 0.5}
  """
  if rate <= 0:
    raise errors.InputError(f'the trunk rate must be > 0, got {rate!r}.')
  rates = strategies.parse_layer_rates(layer_rates, rate)
  return {k: min(v / rate * fraction, 0.999) for k, v in rates.items()}


@functools.partial(jax.jit, static_argnames=('apply_fn', 'task'))
def train_loss(apply_fn: Any, task: losses.Task, params: Any,
               batch_stats: Any, masks: Any, batches: Any) -> jax.Array:
  """The mean training loss of ``params * masks`` over ``batches``."""
  return landscape.dataset_loss(batch_loss(apply_fn, batch_stats, task),
                                params, masks, batches)


def loss_at(exp: Experiment, variables: dict[str, Any], data: Data) -> Any:
  """``loss_at(params, masks) -> float``: the training loss on the Hessian
  examples, under ``variables``' batch statistics."""
  def f(params, masks):
    return float(train_loss(exp.model.apply, exp.task, params,
                            variables['batch_stats'], masks,
                            data.hessian_batches))
  return f


def prune_fn(exp: Experiment) -> basin_lib.PruneFn:
  """``prune(params, masks, f)``: the trunk's layer-wise magnitude pruning
  with its per-layer rates scaled so that its ``rate`` becomes ``f``."""
  p = exp.config.pruning

  def prune(params, masks, fraction):
    return pruning.prune_layerwise(
        params, masks, scaled_rates(p.layer_rates, p.rate, fraction))
  return prune


def measured_fraction(exp: Experiment, solution: Solution, data: Data,
                      spec: Spec) -> basin_lib.Bisection:
  """The largest one-shot fraction whose projection raises the training
  loss by at most ``spec.basin_threshold`` (bisection)."""
  masks, variables = solution
  return landscape.max_prune_fraction(
      loss_at(exp, variables, data), variables['params'], masks,
      prune_fn(exp), spec.basin_threshold, steps=spec.bisection_steps)


def predicted_fraction(exp: Experiment, solution: Solution, spec: Spec,
                       lambda_max: float) -> basin_lib.Bisection:
  """The largest fraction with ``0.5 * lambda_max * ||delta||^2 <=
  spec.basin_threshold``. The rule needs no loss evaluation: a finer
  bisection (2^-20) is cheap, and its fractions are often far below the
  measured ones."""
  masks, variables = solution
  return landscape.predicted_max_fraction(
      variables['params'], masks, prune_fn(exp), lambda_max,
      spec.basin_threshold, steps=max(spec.bisection_steps, PREDICTED_STEPS))


def basin(exp: Experiment, solution: Solution, data: Data, spec: Spec,
          lambda_max: float) -> dict[str, Any]:
  """The largest one-shot magnitude prune fraction of a solution, measured
  (loss increase) and predicted (top eigenvalue): ``landscape.basin``."""
  measured = measured_fraction(exp, solution, data, spec)
  predicted = predicted_fraction(exp, solution, spec, lambda_max)
  return {'max_fraction_measured': measured.fraction,
          'max_fraction_predicted': predicted.fraction,
          'basin_tried': measured.tried}
