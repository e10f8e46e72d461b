"""IMP on a two-task data set, then the structure of every level's ticket.

``study(config, workdir)`` runs (or resumes) the lottery trunk of
``config`` through ``lottery.imp`` and the engine, then reads each
finished level back through ``lottery.storage`` and records per replicate
and level: each task's validation and test accuracy (its own head or
output, not the engine's mean over heads), the remaining and active weight
counts, inactive and zombie weights, components, coverage and state
(``structure.analyse``). It writes ``<run>/structure/levels.csv``,
``levels.json``, ``replicates.json`` (first separation and degradation
level, the run's outcome, the weights and accuracies at the split) and the
figures of ``structure_plots``.
"""
import functools
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from lth_jax import files
from lth_jax.analysis import mask_paths
from lth_jax.analysis import structure as structure_lib
from lth_jax.runs import layout
from lth_jax.studies.structure import levels as structure_levels
from lth_jax.data import two_task
from lth_jax.lottery import imp
from lth_jax.runs import storage
from lth_jax.pruning import masks as masks_lib
from lth_jax.training.progress import Progress


def coverage_rule(dataset_name: str) -> str:
  """The thesis's rule: moons + circles (and its dependent control) need
  every input, MNIST + Fashion-MNIST only every output (blank border pixels
  may go)."""
  return ('inputs_outputs' if dataset_name.startswith('moons_circles')
          else 'outputs')


@functools.partial(jax.jit, static_argnums=(0, 5, 6))
def _correct(model: Any, params: Any, masks: Any, images: jax.Array,
             labels: jax.Array, multi_label: bool,
             head_sizes: tuple[int, ...] | None) -> jax.Array:
  """``[N, K]`` per-example, per-task correctness."""
  logits = model.apply({'params': masks_lib.apply_masks(params, masks)},
                       images, train=False)
  if multi_label:
    return (logits > 0) == (labels > 0.5)
  bounds = np.cumsum(head_sizes)[:-1].tolist()
  heads = jnp.split(logits, bounds, axis=-1)
  return jnp.stack([jnp.argmax(h, -1) == labels[:, k]
                    for k, h in enumerate(heads)], 1)


def per_task_accuracy(model: Any, params: Any, masks: Any,
                      images: np.ndarray, labels: np.ndarray,
                      multi_label: bool,
                      head_sizes: tuple[int, ...] | None,
                      batch_size: int = 2000) -> np.ndarray:
  """``[K]``: each task's accuracy (multi-hot columns or heads)."""
  parts = [np.asarray(_correct(model, params, masks,
                               jnp.asarray(images[i:i + batch_size]),
                               jnp.asarray(labels[i:i + batch_size]),
                               multi_label, head_sizes))
           for i in range(0, len(images), batch_size)]
  return np.concatenate(parts).mean(0)


def level_row(exp: Any, replicate: int, level: int, tasks: Sequence[Any],
              coverage: str, like: dict[str, Any]
              ) -> tuple[dict[str, Any], Any, Any, structure_lib.Structure]:
  """One level's record, and its masks, trained params and structure."""
  d = storage.level_dir(exp.run_dir, replicate, level)
  masks, trained = structure_levels.load_level(d, like)
  params = trained['params']
  s = structure_lib.analyse(masks, tasks, params, coverage)
  summary = storage.read_json(layout.JobDir(d).summary)
  row = {'replicate': replicate, 'level': level,
         'remaining': int(s.kept_weights.sum()),
         'active': int(s.active_weights.sum()),
         'inactive': int(s.inactive_weights.sum()),
         'zombie': int(s.zombie_weights.sum()),
         'zombies_driving': int(s.zombies_driving.sum()),
         'components': s.num_components, 'state': s.state,
         'coverage': np.round(s.coverage, 4).tolist(),
         'single_task_share': [None if np.isnan(v) else round(float(v), 4)
                               for v in s.single_task_share],
         'early_stop_step': summary['early_stop_step'],
         'final_step': summary['final_step']}
  head_sizes = exp.task.head_sizes
  for split in ('val', 'test'):
    acc = per_task_accuracy(
        exp.model, params, masks, getattr(exp.dataset, f'{split}_images'),
        getattr(exp.dataset, f'{split}_labels'), exp.task.multi_label,
        tuple(head_sizes) if head_sizes else None)
    for name, a in zip(s.tasks, acc):
      row[f'{split}_acc_{name}'] = round(float(a), 4)
  return row, masks, params, s


def replicate_outcome(rows: list[dict[str, Any]], tasks: Sequence[str]
                      ) -> dict[str, Any]:
  """First separation / degradation level of one replicate's rows."""
  rows = sorted(rows, key=lambda r: r['level'])
  states = [r['state'] for r in rows]
  split = structure_lib.first_level(states, 'separated')
  broken = structure_lib.first_level(states, 'degraded')
  out = {'replicate': rows[0]['replicate'],
         'outcome': structure_lib.run_outcome(states),
         'first_separated': None if split is None else rows[split]['level'],
         'first_degraded': None if broken is None else rows[broken]['level'],
         'levels': len(rows)}
  if split is not None:
    r = rows[split]
    out.update({'remaining_at_split': r['remaining'],
                'active_at_split': r['active']})
    out.update({f'test_acc_{t}_at_split': r[f'test_acc_{t}']
                for t in tasks})
  return out


def analyse_run(exp: Any, coverage: str | None = None,
                figures: bool = True) -> dict[str, Any]:
  """Analyses every finished level of ``exp``'s trunk (see module doc)."""
  # Imported here: plotting pulls in matplotlib and networkx, which only
  # the figures need.
  from lth_jax.studies.structure import plots as structure_plots  # pylint: disable=import-outside-toplevel
  cfg = exp.config
  coverage = coverage or coverage_rule(cfg.data.name)
  tasks = two_task.tasks(cfg.data.name)
  names = [t[0] for t in tasks]
  out = layout.RunLayout(exp.run_dir).structure
  out.path.mkdir(parents=True, exist_ok=True)
  rows, outcomes = [], []
  for r in range(cfg.replicates):
    init = exp.init_variables(r)
    like = {'masks': exp.dense_masks(init['params']), 'variables': init}
    rep, kept = [], {}
    for level in range(cfg.pruning.levels + 1):
      row, masks, params, s = level_row(exp, r, level, tasks, coverage, like)
      rep.append(row)
      kept[level] = (masks, params, s)
    outcome = replicate_outcome(rep, names)
    outcomes.append(outcome)
    rows += rep
    if figures:
      show = outcome['first_separated']
      show = cfg.pruning.levels if show is None else show
      masks, params, s = kept[show]
      title = f'replicate {r}, level {show} ({s.state})'
      structure_plots.draw_subnetworks(
          masks, s, tasks, out.file(f'subnetworks_r{r}.png'), title)
      side = exp.dataset.train_images.shape[1:3]
      if len(side) == 2 and side[1] == 2 * side[0]:
        structure_plots.plot_relevance(
            mask_paths.input_relevance(params, masks, tasks), names,
            side, out.file(f'relevance_r{r}.png'), title)
  files.write_csv(out.file('levels.csv'), [
      {k: v for k, v in row.items()
       if k not in ('coverage', 'single_task_share')} for row in rows])
  storage.write_json(out.file('levels.json'), rows)
  storage.write_json(out.file('replicates.json'), outcomes)
  if figures:
    structure_plots.plot_active_vs_remaining(
        rows, out.file('active_vs_remaining.png'),
        f'{cfg.data.name}, {cfg.model_kwargs.to_dict().get("hidden")}')
  return {'rows': rows, 'replicates': outcomes, 'dir': str(out.path)}


def study(config: ml_collections.ConfigDict, workdir: str,
          coverage: str | None = None, figures: bool = True,
          dataset: Any = None) -> dict[str, Any]:
  """Runs (or resumes) IMP for ``config``, then ``analyse_run``.

  Args:
    config: a two-task config (``configs/structure_*.py``).
    workdir: results go to ``workdir/<run-hash>/``, the analysis to
      ``workdir/<run-hash>/structure/``.
    coverage: the state rule (default ``coverage_rule`` of the data set).
    figures: write the PNGs.
    dataset: optional preloaded data set (tests).

  Returns:
    ``{'rows': per (replicate, level), 'replicates': outcomes, 'dir'}``.
  """
  with imp.locked_experiment(config, workdir, dataset) as exp:
    imp.run_levels(exp, Progress(enabled=config.progress))
    return analyse_run(exp, coverage, figures)


def mean_range(values: Sequence[Any]) -> str:
  """'mean (min-max)' of the values that are not None ('-' if none).

  >>> mean_range([1, None, 3]), mean_range([2.0, 2.0]), mean_range([None])
  ('2 (1-3)', '2.0', '-')
  """
  values = [v for v in values if v is not None]
  if not values:
    return '-'
  lo, hi, mean = min(values), max(values), float(np.mean(values))
  fmt = '{:.1f}' if isinstance(values[0], float) else '{:.0f}'
  if lo == hi:
    return fmt.format(mean)
  return f'{fmt.format(mean)} ({fmt.format(lo)}-{fmt.format(hi)})'


def level_table(rows: Sequence[dict[str, Any]], tasks: Sequence[str]) -> str:
  """Markdown: per level, means (min-max) over replicates and the states."""
  levels = sorted({r['level'] for r in rows})
  head = ['level', 'remaining', 'active', 'components', 'states'] + [
      f'test acc {t} %' for t in tasks]
  out = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  for level in levels:
    at = [r for r in rows if r['level'] == level]
    states = ', '.join(f'{s} {sum(r["state"] == s for r in at)}'
                       for s in structure_lib.STATES
                       if any(r['state'] == s for r in at))
    cells = [str(level), mean_range([r['remaining'] for r in at]),
             mean_range([r['active'] for r in at]),
             mean_range([r['components'] for r in at]), states]
    cells += [mean_range([100 * r[f'test_acc_{t}'] for r in at]) for t in tasks]
    out.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(out)


def outcome_table(outcomes: Sequence[dict[str, Any]], tasks: Sequence[str]
                  ) -> str:
  """Markdown: one row per replicate, its split and degradation."""
  head = ['replicate', 'outcome', 'first separated level',
          'first degraded level', 'remaining at split', 'active at split'] + [
              f'test acc {t} at split %' for t in tasks]
  out = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  for o in outcomes:
    cells = [str(o['replicate']), o['outcome'], str(o['first_separated']),
             str(o['first_degraded']), str(o.get('remaining_at_split', '-')),
             str(o.get('active_at_split', '-'))]
    cells += [('-' if f'test_acc_{t}_at_split' not in o else
               f'{100 * o[f"test_acc_{t}_at_split"]:.2f}') for t in tasks]
    out.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(out)
