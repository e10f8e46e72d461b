"""Instability analysis (Frankle, Dziugaite, Roy & Carbin 2020), pure parts.

From one start state -- the dense network at rewind iteration k, or a
ticket ``m * W_k`` with a trunk level's mask -- two copies are trained to
the end with different data orders (and augmentation keys), everything
else equal. Their instability is the error barrier on the straight line
between them (``lth_jax.analysis.connectivity``). A start state is stable
to SGD noise when that barrier is below a threshold (2 %); the stability
point of a network is the first rewind iteration k that is stable.

This module holds what the sweep driver (``instability_sweep``) composes:
the copies' data keys, the jitted evaluation of one path, and the
reduction of many paths to instability and stability points; the sweep's
settings and their checks are its ``schema``.
"""
import functools
from typing import Any, Iterable, NamedTuple

import jax
import numpy as np

from lth_jax import errors
from lth_jax import streams
from lth_jax.analysis import connectivity
from lth_jax.studies.connectivity import schema
from lth_jax.training import losses
from lth_jax.training import state as state_lib
from lth_jax.training import steps as steps_lib

#: The randomness stream of the copies' data orders, after the
#: experiment's init (0), data (1) and control (2) streams.
INSTABILITY_STREAM = streams.Stream.INSTABILITY
#: Both copies of a pair.
COPIES = (0, 1)
#: The splits a path is evaluated on.
SPLITS = ('test', 'train')


def copy_data_key(replicate_key: jax.Array, pair: int, copy: int
                  ) -> jax.Array:
  """The data-order key of copy ``copy`` (0 or 1) of pair ``pair``.

  ``replicate_key`` is ``fold_in(key(seed), replicate)``; the copies' keys
  come from their own stream of it, so they differ from the trunk's data
  key (stream 1), from each other and from every other pair's, and adding
  pairs never changes the existing ones.

  >>> base = jax.random.key(0)
  >>> keys = {tuple(jax.random.key_data(copy_data_key(base, p, c)).tolist())
  ...         for p in range(2) for c in COPIES}
  >>> len(keys)
  4
  """
  if copy not in COPIES:
    raise errors.InputError(f'copy must be 0 or 1, got {copy!r}.')
  key = jax.random.fold_in(replicate_key, INSTABILITY_STREAM)
  return jax.random.fold_in(jax.random.fold_in(key, pair), copy)


def pair_states(start: state_lib.TrainState, replicate_key: jax.Array,
                pair: int) -> list[state_lib.TrainState]:
  """The two copies of ``start``: equal in all but their data keys."""
  return [start.replace(data_key=copy_data_key(replicate_key, pair, c))
          for c in COPIES]


class PathData(NamedTuple):
  """The inputs of a path evaluation (device arrays).

  Attributes:
    test_images, test_labels: the test split.
    train_images, train_labels: the training subset the train error is
      measured on.
    bn_images: ``[num_batches, batch_size, ...]`` training inputs for
      recomputed batch-norm statistics.
  """
  test_images: jax.Array
  test_labels: jax.Array
  train_images: jax.Array
  train_labels: jax.Array
  bn_images: jax.Array


def path_data(data: Any, spec: schema.SweepSpec, batch_size: int) -> PathData:
  """``PathData`` from a ``batching.DeviceData`` (first training examples)."""
  n_bn = spec.batch_norm_examples // batch_size * batch_size
  bn = data.train_images[:n_bn]
  return PathData(
      data.test_images, data.test_labels,
      data.train_images[:spec.train_eval_examples],
      data.train_labels[:spec.train_eval_examples],
      bn.reshape((n_bn // batch_size, batch_size) + bn.shape[1:]))


@functools.partial(jax.jit, static_argnames=('batch_norm', 'batch_size',
                                             'task'))
def path_metrics(template: state_lib.TrainState, variables_a: Any,
                 variables_b: Any, alphas: jax.Array, data: PathData,
                 batch_norm: str = 'recompute', batch_size: int = 1000,
                 task: losses.Task = losses.Task()) -> dict[str, Any]:
  """Error and loss on test and train at every alpha, in one program.

  Args:
    template: a train state of the model with the pair's masks (its
      ``apply_fn`` and ``masks`` are used).
    variables_a: copy 0's ``{'params', 'batch_stats'}``.
    variables_b: copy 1's.
    alphas: ``[n]`` points (``connectivity.alpha_grid``).
    data: ``PathData``.
    batch_norm: ``'recompute'`` or ``'interpolate'``.
    batch_size: evaluation batch size.
    task: the loss.

  Returns:
    ``{'test': {'error': [n], 'loss': [n]}, 'train': {...}}``.
  """
  def eval_fn(variables):
    state = template.replace(params=variables['params'],
                             batch_stats=variables['batch_stats'])
    out = {}
    for split in SPLITS:
      loss, acc = steps_lib.evaluate(
          state, getattr(data, f'{split}_images'),
          getattr(data, f'{split}_labels'), batch_size, task)
      out[split] = {'error': 1 - acc, 'loss': loss}
    return out

  def recomputed(params, batch_stats):
    return connectivity.recompute_batch_stats(template.apply_fn, params,
                                              batch_stats, data.bn_images)

  return connectivity.path_metrics(
      eval_fn, variables_a, variables_b, alphas, template.masks,
      recomputed if batch_norm == 'recompute' else None)


def path_record(metrics: dict[str, Any], alphas: np.ndarray
                ) -> dict[str, Any]:
  """A JSON-ready path: alphas, errors, losses and barriers per split."""
  record = {'alphas': [float(a) for a in alphas]}
  for split in SPLITS:
    err = np.asarray(metrics[split]['error'], np.float64)
    loss = np.asarray(metrics[split]['loss'], np.float64)
    record[split] = {
        'error': err.tolist(), 'loss': loss.tolist(),
        'instability': float(connectivity.barrier(err)),
        'loss_barrier': float(connectivity.barrier(loss)),
        'end_error': float((err[0] + err[-1]) / 2)}
  return record


def stability_point(rewind_steps: Iterable[int], instability: Iterable[float],
                    threshold: float = connectivity.STABILITY_THRESHOLD
                    ) -> int | None:
  """The first rewind step whose instability is below ``threshold``.

  >>> stability_point([0, 100, 500], [0.3, 0.01, 0.0])
  100
  >>> stability_point([500, 0], [0.5, 0.1]) is None
  True
  """
  for k, value in sorted(zip(rewind_steps, instability)):
    if value < threshold:
      return int(k)
  return None


def aggregate(paths: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
  """One row per (level, k): instability mean / min / max over paths.

  Each path is a dict with ``level``, ``weights_remaining``,
  ``rewind_step``, ``replicate``, ``pair`` and per split the
  ``instability`` and ``end_error`` (``path_record``). Values in rows are
  percentages.

  >>> rows = aggregate([{'level': 0, 'weights_remaining': 1.,
  ...   'rewind_step': 0, 'replicate': r, 'pair': 0,
  ...   'test': {'instability': v, 'end_error': .02},
  ...   'train': {'instability': v / 2, 'end_error': .01}}
  ...   for r, v in enumerate([.1, .3])])
  >>> round(rows[0]['test_instability_mean'], 6), rows[0]['paths']
  (20.0, 2)
  """
  groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
  for p in paths:
    groups.setdefault((p['level'], p['rewind_step']), []).append(p)
  rows = []
  for (level, k), group in sorted(groups.items()):
    row = {'level': level, 'rewind_step': k,
           'weights_remaining_pct': 100 * group[0]['weights_remaining'],
           'paths': len(group),
           'replicates': len({p['replicate'] for p in group})}
    for split in SPLITS:
      for name in ('instability', 'end_error'):
        v = 100 * np.asarray([p[split][name] for p in group], np.float64)
        row.update({f'{split}_{name}_mean': float(v.mean()),
                    f'{split}_{name}_min': float(v.min()),
                    f'{split}_{name}_max': float(v.max())})
      # Per path, for the verdicts over replicates (not in the CSV).
      row[f'{split}_instability_values'] = (
          100 * np.asarray([p[split]['instability'] for p in group])).tolist()
    rows.append(row)
  return rows


def stability_points(rows: list[dict[str, Any]], threshold: float,
                     split: str = 'test') -> dict[int, int | None]:
  """Per level, the stability point of its mean instability (``rows`` as
  ``aggregate`` gives them)."""
  out = {}
  for level in sorted({r['level'] for r in rows}):
    mine = [r for r in rows if r['level'] == level]
    out[level] = stability_point(
        [r['rewind_step'] for r in mine],
        [r[f'{split}_instability_mean'] / 100 for r in mine], threshold)
  return out

