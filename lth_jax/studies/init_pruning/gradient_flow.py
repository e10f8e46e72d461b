"""GraSP's own objective, measured: the gradient flow a mask leaves.

GraSP (Wang et al. 2020, Sec. 4) prunes at init so as to preserve the
gradient flow ``G = g^T g`` of the loss (logits / 200): removing weight
``i`` changes ``G`` by about ``-2 w_i (H g)_i``, so it removes the largest
``S = -w * Hg`` and keeps the weights whose removal would cut ``G`` most.
If an implementation has this sign right, its mask leaves more gradient
flow than the *inverted* mask (keep what GraSP removes) at the same count,
at least while the first-order estimate holds (mild pruning). ``measure``
computes ``G`` after each mask, so the sign of ``scores.grasp`` is checked
against the objective it claims, not against another implementation.
"""
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import pruning
from lth_jax.analysis import verdicts
from lth_jax.lottery.experiment import Experiment
from lth_jax.lottery import experiment as experiment_lib
from lth_jax.pruning import ablations
from lth_jax.pruning import scores as scores_lib
from lth_jax.pruning import scoring
from lth_jax.pruning import selection
from lth_jax.studies.init_pruning import runner

PyTree = Any
#: Masks compared at each density, in table order.
ARMS = ('grasp', 'grasp_inverted', 'grasp_abs', 'grasp_shuffled',
        'random_global')


def gradient_flow(params: PyTree, masks: PyTree, loss_fn: Callable,
                  batch: Any, temperature: float) -> float:
  """``g^T g`` over the kept prunable weights of the masked network, ``g``
  the gradient of ``loss_fn`` at ``logits / temperature``.

  >>> loss = scores_lib.classification_loss(lambda p, x: x @ p['w'])
  >>> p = {'w': jnp.array([[1., -1.], [2., 0.]])}
  >>> x, y = jnp.array([[1., 0.]]), jnp.array([0])
  >>> full = gradient_flow(p, {'w': jnp.ones((2, 2), bool)}, loss, (x, y), 1.)
  >>> half = gradient_flow(p, {'w': jnp.array([[True, False], [True, True]])},
  ...                      loss, (x, y), 1.)
  >>> round(full, 4), round(half, 4)
  (0.0284, 0.0723)
  """
  effective = pruning.apply_masks(params, masks)
  g = jax.grad(lambda p: loss_fn(p, batch, temperature=temperature))(
      effective)
  kept = jax.tree.map(
      lambda m, x: None if m is None else jnp.sum(jnp.where(m, x, 0.0) ** 2),
      masks, g, is_leaf=pruning.masks.is_none)
  return float(sum(pruning.masks.mask_leaves(kept)))


def arm_masks(params: PyTree, scores: PyTree, abs_scores: PyTree,
              dense: PyTree, count: int, key: jax.Array
              ) -> dict[str, PyTree]:
  """The masks of ``ARMS`` keeping ``count`` weights in all."""
  top = lambda s: selection.top_k_global(s, dense, count)
  grasp = top(scores)
  random = top(scoring.score('random', params, dense, key=key))
  return {'grasp': grasp, 'grasp_inverted': top(scores_lib.invert(scores)),
          'grasp_abs': top(abs_scores),
          'grasp_shuffled': ablations.shuffle_within_layers(key, grasp),
          'random_global': random}


def measure(exp: Experiment, replicates: Sequence[int],
            densities: Sequence[float]) -> list[dict[str, Any]]:
  """``G`` of every arm at every density for each replicate's init, at
  GraSP's temperature (200) and at 1, with each arm's per-layer kept %.

  Rows: ``{'replicate', 'density', 'arm', 'flow_t200', 'flow_t1',
  'layers': {name: percent}}``; arm ``'dense'`` once per replicate.
  """
  rows = []
  for r in replicates:
    variables = exp.init_variables(
        r, key=exp.replicate_key(r, experiment_lib.INIT_STREAM))
    params = variables['params']
    key = jax.random.fold_in(
        exp.replicate_key(r, experiment_lib.CONTROL_STREAM), 0)
    batch = scores_lib.class_balanced_batch(
        key, exp.dataset.train_images, exp.dataset.train_labels,
        runner.PER_CLASS)
    loss_fn = scores_lib.classification_loss(
        runner.logits_fn(exp, variables['batch_stats']))
    dense = exp.dense_masks(params)
    inputs = dict(loss_fn=loss_fn, batch=batch, key=key)
    scores = scoring.score('grasp', params, dense, **inputs)
    abs_scores = scoring.score('grasp_abs', params, dense, **inputs)
    size = sum(int(m.size) for m in pruning.masks.mask_leaves(dense))

    def row(density, arm, masks):
      return {'replicate': r, 'density': density, 'arm': arm,
              'flow_t200': gradient_flow(params, masks, loss_fn, batch,
                                         scores_lib.GRASP_TEMPERATURE),
              'flow_t1': gradient_flow(params, masks, loss_fn, batch, 1.0),
              'layers': layer_percents(masks)}

    rows.append(row(1.0, 'dense', dense))
    for density in densities:
      masks = arm_masks(params, scores, abs_scores, dense, round(density * size),
                        jax.random.fold_in(key, 1))
      rows += [row(density, arm, masks[arm]) for arm in ARMS]
  return rows


def layer_percents(masks: PyTree) -> dict[str, float]:
  """Percent of each prunable leaf kept, by its path."""
  return {p: float(100 * np.mean(np.asarray(m))) for p, m in zip(
      pruning.masks.prunable_paths(masks), pruning.masks.mask_leaves(masks))}


def _summary(values: Sequence[float]) -> str:
  v = np.asarray(values)
  return f'{v.mean():.3g} ({v.min():.3g}-{v.max():.3g})'


def to_markdown(rows: Sequence[dict[str, Any]],
                key: str = 'flow_t200') -> str:
  """Per density: each arm's ``G`` relative to the dense network's, mean
  (min-max) over replicates, and the paired verdict of GraSP against its
  inversion (95 % t interval of the difference of log G)."""
  dense = {r['replicate']: r[key] for r in rows if r['arm'] == 'dense'}
  densities = sorted({r['density'] for r in rows if r['arm'] != 'dense'},
                     reverse=True)
  lines = ['| weights % | ' + ' | '.join(ARMS)
           + ' | log G: grasp - inverted |',
           '|---' * (len(ARMS) + 2) + '|']
  for d in densities:
    cells, logs = [], {}
    for arm in ARMS:
      sel = sorted((r for r in rows if r['density'] == d and r['arm'] == arm),
                   key=lambda r: r['replicate'])
      cells.append(_summary([r[key] / dense[r['replicate']] for r in sel]))
      logs[arm] = [np.log(r[key]) for r in sel]
    verdict = verdicts.compare(logs['grasp'], logs['grasp_inverted'],
                               paired=True)
    lines.append(f'| {100 * d:.1f} | ' + ' | '.join(cells)
                 + f' | {verdict} |')
  return '\n'.join(lines)


def layers_markdown(rows: Sequence[dict[str, Any]], replicate: int = 0
                    ) -> str:
  """Per-layer percent kept by each arm of one replicate, per density."""
  sel = [r for r in rows if r['replicate'] == replicate
         and r['arm'] != 'dense']
  names = list(sel[0]['layers']) if sel else []
  lines = ['| weights % | arm | ' + ' | '.join(names) + ' |',
           '|---' * (len(names) + 2) + '|']
  for r in sel:
    lines.append(f"| {100 * r['density']:.1f} | {r['arm']} | " + ' | '.join(
        f"{r['layers'][n]:.2f}" for n in names) + ' |')
  return '\n'.join(lines)
