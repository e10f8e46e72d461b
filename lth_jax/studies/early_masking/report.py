"""Tables and figures of an early-masking run (lth_jax.studies.early_masking).

Per target level and timing point: the ticket's test accuracy at early stop
(mean, min, max over replicates) and early-stop step, the same for the
fully-trained-mask ticket (one-shot: the mask from step T; iterative: the
trunk's IMP level) and for the random-prune control, the mask's distance to
the final mask, ``t`` as a share of the dense early-stop step; per
replicate the early-bird step, the flattening signal, the predicted and the
measured emergence point (``lth_jax.studies.early_masking.emergence``). Each row also
gives the verdicts of ``lth_jax.analysis.verdicts`` over replicates (95 %
paired intervals: a replicate's ticket, dense run, full-mask ticket and
control share its seeds): whether the ticket wins by Frankle & Carbin's
definition (not below the *dense* network's accuracy, in at most its
iterations), and the ticket against the full-mask ticket and the control.
"""
import functools
import pathlib
from typing import Any

import ml_collections
import numpy as np

from lth_jax import files as files_lib
from lth_jax import pruning
from lth_jax.studies.early_masking import emergence
from lth_jax.studies.early_masking import figures
from lth_jax.analysis import verdicts
from lth_jax.studies import early_masking as em
from lth_jax.runs import layout
from lth_jax.runs import storage
from lth_jax.lottery import strategies
from lth_jax.lottery.experiment import Experiment
from lth_jax.pruning import distance


def _stats(values: list[float], name: str) -> dict[str, Any]:
  v = [x for x in values if x is not None]
  if not v:
    return {f'{name}_mean': None, f'{name}_min': None, f'{name}_max': None}
  return {f'{name}_mean': float(np.mean(v)), f'{name}_min': float(min(v)),
          f'{name}_max': float(max(v))}


def _summary(d: pathlib.Path) -> dict[str, Any] | None:
  job = layout.JobDir(d)
  return storage.read_json(job.summary) if job.done() else None


def _acc(s: dict[str, Any] | None) -> float | None:
  return None if s is None else s['early_stop_test_acc']


def _es(s: dict[str, Any] | None) -> float | None:
  return None if s is None else s['early_stop_step']


def _control(exp: Experiment, r: int, level: int, masks: Any
             ) -> dict[str, Any] | None:
  return _summary(em.control_ticket(exp, r, level, masks).out_dir)


def verdict_cells(per: list[dict[str, Any]]) -> dict[str, str | None]:
  """The paper's winning-ticket test and the ticket against IMP at the same
  sparsity, its full-mask ticket and its control, over the replicates of
  one row (each ``per`` entry holds the summaries ``ticket``, ``dense``,
  ``imp``, ``full``, ``control``; a missing one is None)."""
  def pct(name):
    v = [_acc(x.get(name)) for x in per]
    return None if None in v else [100 * a for a in v]
  ticket = pct('ticket')
  cells = {'winning_ticket': None, 'vs_dense': None, 'stop_vs_dense': None,
           'vs_imp': None, 'vs_full': None, 'vs_control': None}
  if ticket is None:
    return cells
  if pct('dense') is not None:
    win = verdicts.winning_ticket(
        ticket, pct('dense'), [_es(x['ticket']) for x in per],
        [_es(x['dense']) for x in per], paired=True)
    cells['winning_ticket'] = str(win).split(':', 1)[0]
    cells['vs_dense'] = str(win.accuracy)
    cells['stop_vs_dense'] = f'{win.stop_diff:+.0f}'
  for name in ('imp', 'full', 'control'):
    if pct(name) is not None:
      cells[f'vs_{name}'] = str(verdicts.compare(ticket, pct(name),
                                                 paired=True))
  return cells


def _imp(exp: Experiment, r: int, level: int) -> dict[str, Any] | None:
  """The trunk's IMP level (None until the trunk has trained it)."""
  return _summary(pathlib.Path(storage.level_dir(exp.run_dir, r, level)))


def _ticket_masks(exp: Experiment, d: pathlib.Path, r: int) -> Any:
  return storage.load_tree(layout.JobDir(d).masks, exp.dense_masks(
      exp.init_variables(r)['params']))


def estimate(exp: Experiment, p: em.Plan, level: int, r: int
             ) -> dict[str, Any]:
  """Predicted (dense checkpoints only) and measured emergence, one
  replicate, one target level; also the t-by-t distance matrix over the
  doubling steps, the timing points and the dense early-stop step.

  Both signals use the masks of the regular grid ``p.grid`` (every
  evaluation): the early-bird step, and the flattening of each mask's
  distance to the previous grid mask.
  """
  strategy = strategies.get_strategy(exp.config.pruning.strategy)
  dense = exp.dense_masks(exp.init_variables(r)['params'])

  def mask_at(step):
    return strategy(em.load_capture(exp, r, step)['params'], dense,
                    exp.config.pruning, level)

  grid = distance.distance_matrix([mask_at(s) for s in p.grid])
  fired = distance.early_bird_from_distances(grid, p.window, p.threshold)
  eb = None if fired is None else p.grid[fired]
  prev = distance.previous_distances(grid)
  flat = emergence.flattening_step(list(p.grid), prev)
  es = em.dense_summary(exp, r)['early_stop_step']
  points = sorted(em.point_steps(p, exp, r).items(), key=lambda kv: kv[1])
  heat = sorted(set(p.doubling) | {s for _, s in points} | {es})
  matrix = distance.distance_matrix([mask_at(s) for s in heat])
  oneshot = functools.partial(em.em_layout(exp).oneshot, level, r)
  summaries = {label: _summary(oneshot(label).path) for label, _ in points}
  full = summaries[str(exp.total_steps)]
  final_masks = _ticket_masks(exp, oneshot(exp.total_steps).path, r)
  control = _control(exp, r, level, final_masks)
  measured = None
  if full and control and all(summaries.values()):
    measured = emergence.measured_emergence(
        [s for _, s in points], [_acc(summaries[label]) for label, _ in points],
        _acc(full), _acc(control), p.tolerance)
  return {'level': level, 'replicate': r, 'early_bird_step': eb,
          'flattening_step': flat,
          'predicted': emergence.next_timing_point(
              flat, [s for _, s in points]),
          'measured': measured, 'dense_early_stop': es,
          'points': points, 'heat_steps': heat, 'matrix': matrix,
          'previous': prev, 'summaries': summaries, 'full': full,
          'control': control, 'final_masks': final_masks}


def oneshot_rows(exp: Experiment, p: em.Plan, estimates: list[dict[str, Any]]
                 ) -> list[dict[str, Any]]:
  """One row per (target level, timing point), over replicates, and a row
  ``t='IMP'`` per level with IMP's ticket judged the same way (once the
  trunk has trained that level)."""
  rows = []
  for level in p.levels:
    ests = [e for e in estimates if e['level'] == level]
    labels = [label for label, _ in ests[0]['points']]
    for label in labels:
      per = []
      for e in ests:
        steps = dict(e['points'])
        base = em.em_layout(exp).oneshot(level, e['replicate'], label).path
        per.append({'step': steps[label],
                    'frac': steps[label] / e['dense_early_stop'],
                    'ticket': e['summaries'][label], 'full': e['full'],
                    'control': e['control'],
                    'imp': _imp(exp, e['replicate'], level),
                    'dense': em.dense_summary(exp, e['replicate']),
                    'dist': pruning.hamming_distance(_ticket_masks(
                        exp, base, e['replicate']), e['final_masks'])})
      first = per[0]['ticket'] or {}
      row = {'mode': 'oneshot', 'level': level,
             'weights_remaining_pct': 100 * first.get('weights_remaining',
                                                      np.nan),
             't': label, 't_step_mean': float(np.mean([x['step']
                                                      for x in per])),
             't_frac_dense_es_mean': float(np.mean([x['frac'] for x in per])),
             'dist_to_final_mean': float(np.mean([x['dist'] for x in per]))}
      row['early_bird_steps'] = ' '.join(str(e['early_bird_step'])
                                         for e in ests)
      rows.append(_with_arms(row, per))
    if all(x['imp'] for x in per):  # the positive control: IMP's ticket
      rows.append(_with_arms(
          {'mode': 'oneshot', 'level': level, 't': 'IMP',
           'weights_remaining_pct': row['weights_remaining_pct']},
          [dict(x, ticket=x['imp']) for x in per]))
  return rows


def _with_arms(row: dict[str, Any], per: list[dict[str, Any]]
               ) -> dict[str, Any]:
  """``row`` with each arm's statistics and the verdict cells."""
  for name in ARMS:
    row.update(_stats([_acc(x[name]) for x in per], f'{name}_acc'))
    row[f'{name}_es_mean'] = _mean([_es(x[name]) for x in per])
  row.update(verdict_cells(per))
  return row


def replicate_rows(estimates: list[dict[str, Any]], tolerance: float
                   ) -> list[dict[str, Any]]:
  """One row per (target level, replicate, timing point): the ticket, the
  full-mask ticket, the control, and whether the ticket wins
  (``emergence.wins``)."""
  rows = []
  for e in estimates:
    full, control = _acc(e['full']), _acc(e['control'])
    for label, step in e['points']:
      acc = _acc(e['summaries'][label])
      rows.append({
          'level': e['level'], 'replicate': e['replicate'], 't': label,
          't_step': step, 't_frac_dense_es': step / e['dense_early_stop'],
          'ticket_acc': acc, 'ticket_es': _es(e['summaries'][label]),
          'full_acc': full, 'control_acc': control,
          'wins': None if None in (acc, full, control)
                  else emergence.wins(acc, full, control, tolerance)})
  return rows


def _mean(values: list[Any]) -> float | None:
  v = [x for x in values if x is not None]
  return float(np.mean(v)) if v else None


def iterative_rows(exp: Experiment, p: em.Plan) -> list[dict[str, Any]]:
  """One row per (target level, iterative point), over replicates; the
  full-mask reference is the trunk's IMP level."""
  rows = []
  for level in p.levels:
    for point in p.iterative_points:
      per = []
      for r in range(exp.config.replicates):
        d = em.iterative_dir(exp, point, r, level)
        ticket = _summary(d)
        masks = _ticket_masks(exp, d, r) if ticket else None
        trunk = _imp(exp, r, level)
        records = [layout.JobDir(em.iterative_dir(exp, point, r, lv)).file(
            layout.MASK_SOURCE_RECORD) for lv in range(1, level)]
        src = [storage.read_json(f)['step'] for f in records if f.exists()]
        per.append({'ticket': ticket, 'full': trunk, 'imp': trunk,
                    'control': _control(exp, r, level, masks)
                    if masks is not None else None, 'src': src,
                    'dense': em.dense_summary(exp, r)})
      first = per[0]['ticket'] or {}
      row = {'mode': 'iterative', 'level': level,
             'weights_remaining_pct': 100 * first.get('weights_remaining',
                                                      np.nan),
             't': f'{point:g}', 'mask_source_steps_mean': _mean(
                 [float(np.mean(x['src'])) if x['src'] else None
                  for x in per])}
      rows.append(_with_arms(row, per))
  return rows


def _fmt(v: Any) -> str:
  if v is None:
    return '-'
  if isinstance(v, float):
    return f'{v:.4g}'
  return str(v)


def arm_cell(row: dict[str, Any], name: str) -> str | None:
  """``'97.73 (97.62-97.82) [4750]'``: an arm's test accuracy at early stop
  in %, mean (min-max) over replicates, and its mean early-stop step.

  >>> arm_cell({'imp_acc_mean': .9773, 'imp_acc_min': .9762,
  ...           'imp_acc_max': .9782, 'imp_es_mean': 4750.0}, 'imp')
  '97.73 (97.62-97.82) [4750]'
  """
  if row.get(f'{name}_acc_mean') is None:
    return None
  lo, hi = (100 * row[f'{name}_acc_{k}'] for k in ('min', 'max'))
  return (f'{100 * row[f"{name}_acc_mean"]:.2f} ({lo:.2f}-{hi:.2f}) '
          f'[{row[f"{name}_es_mean"]:.0f}]')


def to_markdown(rows: list[dict[str, Any]], columns: list[str]) -> str:
  rows = [{**r, **{a: arm_cell(r, a) for a in ARMS if a in columns}}
          for r in rows]
  lines = ['| ' + ' | '.join(columns) + ' |',
           '|' + '---|' * len(columns)]
  for r in rows:
    lines.append('| ' + ' | '.join(_fmt(r.get(c)) for c in columns) + ' |')
  return '\n'.join(lines)


ARMS = ('ticket', 'dense', 'imp', 'full', 'control')
ONESHOT_COLUMNS = ['level', 'weights_remaining_pct', 't',
                   't_frac_dense_es_mean'] + list(ARMS) + [
                       'dist_to_final_mean']
VERDICT_COLUMNS = ['winning_ticket', 'vs_dense', 'stop_vs_dense', 'vs_imp',
                   'vs_full', 'vs_control']
ESTIMATE_COLUMNS = ['learning_rate', 'level', 'weights_remaining_pct',
                    'replicate', 'dense_early_stop', 'early_bird_step',
                    'flattening_step', 'predicted', 'measured',
                    'timing_points']
REPLICATE_COLUMNS = ['level', 'replicate', 't', 't_step', 't_frac_dense_es',
                     'ticket_acc', 'ticket_es', 'full_acc', 'control_acc',
                     'wins']
ITERATIVE_COLUMNS = ['level', 'weights_remaining_pct', 't',
                     'mask_source_steps_mean', 'ticket', 'dense', 'full',
                     'control']


def estimate_row(exp: Experiment, p: em.Plan, e: dict[str, Any]
                 ) -> dict[str, Any]:
  """One case of the emergence estimate (``oneshot_estimate.csv``): the
  learning rate, target, replicate, predicted and measured points and the
  timing points they are taken from (``evaluation.grid_positions``)."""
  full = e['full'] or {}
  return {**{k: e.get(k) for k in ESTIMATE_COLUMNS},
          'learning_rate': float(exp.config.training.learning_rate),
          'weights_remaining_pct': 100 * full.get('weights_remaining',
                                                  np.nan),
          'timing_points': ' '.join(str(s) for _, s in e['points'])}


def write_report(config: ml_collections.ConfigDict, workdir: str,
                 dataset: Any = None) -> dict[str, Any]:
  """Writes the CSVs and PNGs of a finished (or partial) run.

  Returns:
    ``{'markdown': tables, 'files': {name: path}, 'rows', 'estimates'}``.
  """
  exp = Experiment.setup(config.trunk, workdir, dataset)
  p = em.plan(config.masking, exp, exp.init_variables(0)['params'])
  out = em.em_layout(exp)
  files, parts = {}, []
  if p.mode == 'oneshot':
    ests = [estimate(exp, p, level, r) for level in p.levels
            for r in range(exp.config.replicates)]
    rows = oneshot_rows(exp, p, ests)
    files['csv'] = out.file('oneshot.csv')
    files_lib.write_csv(files['csv'], rows)
    est_rows = [estimate_row(exp, p, e) for e in ests]
    files['estimate_csv'] = out.file('oneshot_estimate.csv')
    files_lib.write_csv(files['estimate_csv'], est_rows)
    per_replicate = replicate_rows(ests, p.tolerance)
    files['replicates_csv'] = out.file('oneshot_replicates.csv')
    files_lib.write_csv(files['replicates_csv'], per_replicate)
    files['accuracy_png'] = out.file('oneshot_accuracy.png')
    figures.plot_accuracy(rows, files['accuracy_png'], p.timing_points[1],
                  float(np.mean([e['dense_early_stop'] for e in ests])))
    for e in ests:
      if e['replicate'] == 0:
        files[f'distance_png_{e["level"]}'] = (
            out.file(f'oneshot_distance_level_{e["level"]}.png'))
        figures.plot_distances(e, files[f'distance_png_{e["level"]}'])
    parts += [to_markdown(rows, ONESHOT_COLUMNS),
              to_markdown(rows, ['level', 't'] + VERDICT_COLUMNS),
              to_markdown(per_replicate, REPLICATE_COLUMNS),
              to_markdown(est_rows, [c for c in ESTIMATE_COLUMNS
                                     if c != 'early_bird_step'])]
  else:
    rows, ests = iterative_rows(exp, p), []
    files['csv'] = out.file('iterative.csv')
    files_lib.write_csv(files['csv'], rows)
    parts += [to_markdown(rows, ITERATIVE_COLUMNS),
              to_markdown(rows, ['level', 't'] + VERDICT_COLUMNS)]
  return {'markdown': '\n\n'.join(parts), 'files': files, 'rows': rows,
          'estimates': ests}
