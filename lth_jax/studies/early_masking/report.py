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

import matplotlib

matplotlib.use('Agg')
# pylint: disable=g-import-not-at-top,wrong-import-position
import matplotlib.pyplot as plt
import ml_collections
import numpy as np

from lth_jax import files as files_lib
from lth_jax import pruning
from lth_jax.studies.early_masking import emergence
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
  """The paper's winning-ticket test and the ticket against its full-mask
  ticket and its control, over the replicates of one row (each ``per``
  entry holds the summaries ``ticket``, ``full``, ``control``, ``dense``)."""
  def pct(name):
    v = [_acc(x[name]) for x in per]
    return None if None in v else [100 * a for a in v]
  ticket = pct('ticket')
  cells = {'winning_ticket': None, 'vs_dense': None, 'vs_full': None,
           'vs_control': None}
  if ticket is None:
    return cells
  if pct('dense') is not None:
    win = verdicts.winning_ticket(
        ticket, pct('dense'), [_es(x['ticket']) for x in per],
        [_es(x['dense']) for x in per], paired=True)
    cells['winning_ticket'] = str(win).split(':', 1)[0]
    cells['vs_dense'] = str(win.accuracy)
  for name in ('full', 'control'):
    if pct(name) is not None:
      cells[f'vs_{name}'] = str(verdicts.compare(ticket, pct(name),
                                                 paired=True))
  return cells


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
  """One row per (target level, timing point), over replicates."""
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
      for name in ('ticket', 'full', 'control'):
        row.update(_stats([_acc(x[name]) for x in per], f'{name}_acc'))
        row[f'{name}_es_mean'] = _mean([_es(x[name]) for x in per])
      row['early_bird_steps'] = ' '.join(str(e['early_bird_step'])
                                         for e in ests)
      row.update(verdict_cells(per))
      rows.append(row)
  return rows


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
        trunk = _summary(storage.level_dir(exp.run_dir, r, level))
        records = [layout.JobDir(em.iterative_dir(exp, point, r, lv)).file(
            layout.MASK_SOURCE_RECORD) for lv in range(1, level)]
        src = [storage.read_json(f)['step'] for f in records if f.exists()]
        per.append({'ticket': ticket, 'full': trunk,
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
      for name in ('ticket', 'full', 'control'):
        row.update(_stats([_acc(x[name]) for x in per], f'{name}_acc'))
        row[f'{name}_es_mean'] = _mean([_es(x[name]) for x in per])
      row.update(verdict_cells(per))
      rows.append(row)
  return rows


def _fmt(v: Any) -> str:
  if v is None:
    return '-'
  if isinstance(v, float):
    return f'{v:.4g}'
  return str(v)


def to_markdown(rows: list[dict[str, Any]], columns: list[str]) -> str:
  lines = ['| ' + ' | '.join(columns) + ' |',
           '|' + '---|' * len(columns)]
  for r in rows:
    lines.append('| ' + ' | '.join(_fmt(r.get(c)) for c in columns) + ' |')
  return '\n'.join(lines)


def plot_accuracy(rows: list[dict[str, Any]], path: pathlib.Path,
                  first_point: int, dense_es: float) -> None:
  """Ticket accuracy vs t (log axis; t = 0 drawn at first_point / 2) with
  the full-mask ticket and control as bands."""
  levels = sorted({r['level'] for r in rows})
  fig, axes = plt.subplots(1, len(levels), figsize=(6 * len(levels), 4.2),
                           squeeze=False)
  for ax, level in zip(axes[0], levels):
    rs = sorted([r for r in rows if r['level'] == level],
                key=lambda r: r['t_step_mean'])
    x = [max(r['t_step_mean'], first_point / 2) for r in rs]
    def pct(key, rs=rs):
      return [100 * (r[key] if r[key] is not None else np.nan) for r in rs]

    ax.plot(x, pct('ticket_acc_mean'), 'o-', color='C0',
            label='ticket, mask from step t')
    ax.fill_between(x, pct('ticket_acc_min'), pct('ticket_acc_max'),
                    color='C0', alpha=.2)
    for name, color, label in (('full', 'C2', 'mask from step T'),
                               ('control', 'C3', 'random prune control')):
      r0 = rs[-1]
      if r0[f'{name}_acc_mean'] is None:
        continue
      ax.axhline(100 * r0[f'{name}_acc_mean'], color=color, ls='--',
                 label=label)
      ax.axhspan(100 * r0[f'{name}_acc_min'], 100 * r0[f'{name}_acc_max'],
                 color=color, alpha=.15)
    ax.axvline(dense_es, color='k', ls=':', label='dense early stop (mean)')
    ax.axvline(dense_es / 2, color='grey', ls=':', label='50 % of it')
    ax.set_xscale('log')
    ax.set_xlabel('t: step of the weights the mask is taken from '
                  f'(t=0 at {first_point / 2:g})')
    ax.set_ylabel('test accuracy at early stop (%)')
    ax.set_title(f'{rs[0]["weights_remaining_pct"]:.1f} % of weights '
                 f'(level {level})')
    ax.grid(alpha=.3)
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def plot_distances(est: dict[str, Any], path: pathlib.Path) -> None:
  """The t-by-t mask distance heat map with the early-bird firing point,
  the flattening prediction and the measured emergence point."""
  steps = est['heat_steps']
  labels = [f'es={s}' if s == est['dense_early_stop'] else str(s)
            for s in steps]
  fig, ax = plt.subplots(figsize=(6.4, 5.4))
  im = ax.imshow(est['matrix'], cmap='viridis', origin='lower')
  fig.colorbar(im, ax=ax, label='normalised Hamming distance')
  ax.set_xticks(range(len(labels)), labels, rotation=60, fontsize=7)
  ax.set_yticks(range(len(labels)), labels, fontsize=7)

  def mark(step, color, text):
    if step is None:
      return
    pos = float(np.interp(step, steps, range(len(steps))))
    ax.axvline(pos, color=color, lw=2, label=f'{text}: {step}')
    ax.axhline(pos, color=color, lw=1, ls='--')

  mark(est['early_bird_step'], 'red', 'early-bird fires (ext.)')
  mark(est['predicted'], 'orange', 'predicted emergence')
  mark(est['measured'], 'white', 'measured emergence')
  ax.set_xlabel('t (step of the mask)')
  ax.set_title(f'mask distances, level {est["level"]}, replicate '
               f'{est["replicate"]}', fontsize=9)
  ax.legend(fontsize=7, loc='upper left', framealpha=.8)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


ONESHOT_COLUMNS = ['level', 'weights_remaining_pct', 't', 't_step_mean',
                   't_frac_dense_es_mean', 'ticket_acc_mean',
                   'ticket_acc_min', 'ticket_acc_max', 'ticket_es_mean',
                   'full_acc_mean', 'full_es_mean', 'control_acc_mean',
                   'control_es_mean', 'dist_to_final_mean']
VERDICT_COLUMNS = ['winning_ticket', 'vs_dense', 'vs_full', 'vs_control']
ESTIMATE_COLUMNS = ['level', 'replicate', 'dense_early_stop',
                    'early_bird_step', 'flattening_step', 'predicted',
                    'measured']
REPLICATE_COLUMNS = ['level', 'replicate', 't', 't_step', 't_frac_dense_es',
                     'ticket_acc', 'ticket_es', 'full_acc', 'control_acc',
                     'wins']
ITERATIVE_COLUMNS = ['level', 'weights_remaining_pct', 't',
                     'mask_source_steps_mean', 'ticket_acc_mean',
                     'ticket_acc_min', 'ticket_acc_max', 'ticket_es_mean',
                     'full_acc_mean', 'full_es_mean', 'control_acc_mean',
                     'control_es_mean']


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
    est_rows = [{k: e[k] for k in ESTIMATE_COLUMNS} for e in ests]
    files['estimate_csv'] = out.file('oneshot_estimate.csv')
    files_lib.write_csv(files['estimate_csv'], est_rows)
    per_replicate = replicate_rows(ests, p.tolerance)
    files['replicates_csv'] = out.file('oneshot_replicates.csv')
    files_lib.write_csv(files['replicates_csv'], per_replicate)
    files['accuracy_png'] = out.file('oneshot_accuracy.png')
    plot_accuracy(rows, files['accuracy_png'], p.timing_points[1],
                  float(np.mean([e['dense_early_stop'] for e in ests])))
    for e in ests:
      if e['replicate'] == 0:
        files[f'distance_png_{e["level"]}'] = (
            out.file(f'oneshot_distance_level_{e["level"]}.png'))
        plot_distances(e, files[f'distance_png_{e["level"]}'])
    parts += [to_markdown(rows, ONESHOT_COLUMNS),
              to_markdown(rows, ['level', 't'] + VERDICT_COLUMNS),
              to_markdown(per_replicate, REPLICATE_COLUMNS),
              to_markdown(est_rows, ESTIMATE_COLUMNS)]
  else:
    rows, ests = iterative_rows(exp, p), []
    files['csv'] = out.file('iterative.csv')
    files_lib.write_csv(files['csv'], rows)
    parts += [to_markdown(rows, ITERATIVE_COLUMNS),
              to_markdown(rows, ['level', 't'] + VERDICT_COLUMNS)]
  return {'markdown': '\n\n'.join(parts), 'files': files, 'rows': rows,
          'estimates': ests}
