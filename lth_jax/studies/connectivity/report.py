"""Tables and figures of an instability sweep (CSV and PNG).

* ``paths.csv``: one row per (path, alpha): level, weights remaining, k,
  replicate, pair, alpha, test/train error and loss;
* ``instability.csv``: one row per (level, k): instability and end-point
  error, mean / min / max over inits x pairs (percent);
* the verdict per (level, k): ``stable`` when the 95 % t interval of the
  mean test instability over paths lies below the threshold, ``unstable``
  above it, else ``indistinguishable`` (or ``insufficient replicates``
  under 3 paths; ``lth_jax.analysis.verdicts``);
* ``stability.csv``: per level, the stability point: the first k whose
  verdict is ``stable``;
* ``path_error.png``: test error along the path for each k, one panel per
  level (mean over inits x pairs, min-max band);
* ``instability.png``: test and train instability vs k, one line per level
  (mean, min-max band), the threshold dashed.
"""
import pathlib
from typing import Any, Sequence

import matplotlib
import numpy as np

from lth_jax import files
from lth_jax.analysis import connectivity
from lth_jax.analysis import verdicts
from lth_jax.studies.connectivity import instability

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position

PATH_COLUMNS = ('level', 'weights_remaining_pct', 'rewind_step', 'replicate',
                'pair', 'alpha', 'test_error', 'test_loss', 'train_error',
                'train_loss')


def write_csv(rows: list[dict[str, Any]], path: pathlib.Path,
              columns: Sequence[str]) -> None:
  """Writes ``rows`` (floats to 4 decimals) atomically as CSV."""
  files.write_csv(path, rows, columns, decimals=4)


def path_rows(paths: list[dict[str, Any]]) -> list[dict[str, Any]]:
  """``paths.csv``'s rows (errors in percent).

  >>> path_rows([{'level': 0, 'weights_remaining': 1., 'rewind_step': 0,
  ...   'replicate': 0, 'pair': 0, 'alphas': [0., 1.],
  ...   'test': {'error': [.1, .2], 'loss': [1., 2.]},
  ...   'train': {'error': [0., .1], 'loss': [.5, .6]}}])[1]['test_error']
  20.0
  """
  rows = []
  for p in paths:
    for i, alpha in enumerate(p['alphas']):
      rows.append({
          'level': p['level'],
          'weights_remaining_pct': 100 * p['weights_remaining'],
          'rewind_step': p['rewind_step'], 'replicate': p['replicate'],
          'pair': p['pair'], 'alpha': alpha,
          **{f'{s}_{m}': (100 if m == 'error' else 1) * p[s][m][i]
             for s in instability.SPLITS for m in ('error', 'loss')}})
  return rows


def _label(level: int, pct: float) -> str:
  return f'level {level} ({pct:.1f} % weights)'


def plot_paths(paths: list[dict[str, Any]], out: pathlib.Path,
               split: str = 'test') -> None:
  """Error along the path per k, a panel per level, bands over paths."""
  levels = sorted({p['level'] for p in paths})
  fig, axes = plt.subplots(1, len(levels), figsize=(4.2 * len(levels), 3.4),
                           squeeze=False, sharey=True)
  steps = sorted({p['rewind_step'] for p in paths})
  colors = plt.cm.viridis(np.linspace(0, 0.9, len(steps)))
  for ax, level in zip(axes[0], levels):
    mine = [p for p in paths if p['level'] == level]
    for k, color in zip(steps, colors):
      errs = np.asarray([p[split]['error'] for p in mine
                         if p['rewind_step'] == k]) * 100
      if not len(errs):
        continue
      alphas = mine[0]['alphas']
      ax.plot(alphas, errs.mean(0), color=color, label=f'k={k}')
      ax.fill_between(alphas, errs.min(0), errs.max(0), color=color,
                      alpha=0.2)
    ax.set_title(_label(level, 100 * mine[0]['weights_remaining']),
                 fontsize=9)
    ax.set_xlabel('interpolation alpha')
    ax.grid(alpha=0.3)
  axes[0][0].set_ylabel(f'{split} error (%)')
  axes[0][-1].legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(out, dpi=120)
  plt.close(fig)


def plot_instability(rows: list[dict[str, Any]], threshold: float,
                     out: pathlib.Path) -> None:
  """Instability vs k per level (test and train panels)."""
  fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
  levels = sorted({r['level'] for r in rows})
  for ax, split in zip(axes, instability.SPLITS):
    for level in levels:
      mine = sorted((r for r in rows if r['level'] == level),
                    key=lambda r: r['rewind_step'])
      x = [r['rewind_step'] for r in mine]
      line, = ax.plot(x, [r[f'{split}_instability_mean'] for r in mine],
                      marker='o', label=_label(level, mine[0][
                          'weights_remaining_pct']))
      ax.fill_between(x, [r[f'{split}_instability_min'] for r in mine],
                      [r[f'{split}_instability_max'] for r in mine],
                      color=line.get_color(), alpha=0.2)
    ax.axhline(100 * threshold, color='gray', ls='--', lw=1)
    ax.set_xscale('symlog', linthresh=100)
    ax.set_xlim(left=0)
    ax.set_xlabel('rewind iteration k')
    ax.set_ylabel(f'{split} instability (%)')
    ax.grid(alpha=0.3)
  axes[0].legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(out, dpi=120)
  plt.close(fig)


def write_report(paths: list[dict[str, Any]], threshold: float,
                 out_dir: str | pathlib.Path) -> dict[str, Any]:
  """Writes the CSVs and figures of ``paths`` into ``out_dir``.

  Returns:
    ``{'rows': instability rows, 'stability': {level: k or None}, ...}``
    with the written files' paths.
  """
  out_dir = pathlib.Path(out_dir)
  rows = instability.aggregate(paths)
  stability = stability_points(rows, threshold)
  files = {'paths_csv': out_dir / 'paths.csv',
           'instability_csv': out_dir / 'instability.csv',
           'stability_csv': out_dir / 'stability.csv',
           'path_error_png': out_dir / 'path_error.png',
           'instability_png': out_dir / 'instability.png'}
  write_csv(path_rows(paths), files['paths_csv'], PATH_COLUMNS)
  write_csv(rows, files['instability_csv'],
            tuple(k for k in rows[0] if not k.endswith('_values')))
  pct = {r['level']: r['weights_remaining_pct'] for r in rows}
  write_csv(
      [{'level': level, 'weights_remaining_pct': pct[level],
        'stability_point': '' if k is None else k,
        'threshold_pct': 100 * threshold}
       for level, k in stability.items()], files['stability_csv'],
      ('level', 'weights_remaining_pct', 'stability_point', 'threshold_pct'))
  plot_paths(paths, files['path_error_png'])
  plot_instability(rows, threshold, files['instability_png'])
  return {'rows': rows, 'stability': stability, **files}


def stability_verdict(row: dict[str, Any],
                      threshold: float = connectivity.STABILITY_THRESHOLD
                      ) -> str:
  """'stable', 'unstable', 'indistinguishable' or 'insufficient
  replicates': the row's test instabilities (percent, one per path)
  against ``threshold`` (a fraction).

  >>> stability_verdict({'test_instability_values': [.2, .4, .3]})
  'stable'
  >>> stability_verdict({'test_instability_values': [.2, 9., .3]})
  'indistinguishable'
  """
  values = row.get('test_instability_values')
  if values is None:
    return '-'
  verdict = verdicts.against(values, 100 * threshold).verdict
  return {verdicts.WORSE: 'stable', verdicts.BETTER: 'unstable'}.get(
      verdict, verdict)


def stability_points(rows: list[dict[str, Any]],
                     threshold: float = connectivity.STABILITY_THRESHOLD
                     ) -> dict[int, int | None]:
  """Per level, the first rewind step whose ``stability_verdict`` is
  'stable' (None if none is).

  >>> row = lambda k, *v: {'level': 0, 'rewind_step': k,
  ...                      'test_instability_values': list(v)}
  >>> stability_points([row(0, 5., 1., 3.), row(100, 1., 1.2, .9),
  ...                   row(500, .1, .2, .3)])
  {0: 100}
  """
  out = {}
  for level in sorted({r['level'] for r in rows}):
    mine = sorted((r for r in rows if r['level'] == level),
                  key=lambda r: r['rewind_step'])
    out[level] = next((r['rewind_step'] for r in mine
                       if stability_verdict(r, threshold) == 'stable'), None)
  return out


def to_markdown(rows: list[dict[str, Any]],
                stability: dict[int, int | None],
                threshold: float = connectivity.STABILITY_THRESHOLD) -> str:
  """The instability table (mean (min-max) over paths, percent), with the
  verdict of ``stability_verdict`` per (level, k).

  >>> print(to_markdown([{'level': 0, 'weights_remaining_pct': 100.,
  ...   'rewind_step': 0, 'paths': 4, **{f'{s}_{n}_{a}': 1.
  ...   for s in ('test', 'train') for n in ('instability', 'end_error')
  ...   for a in ('mean', 'min', 'max')}}], {0: 0}).splitlines()[2])
  | 100.0 | 0 | 4 | 1.00 (1.00-1.00) | 1.00 (1.00-1.00) | 1.00 | - | 0 |
  """
  def cell(r, name):
    return (f"{r[name + '_mean']:.2f} ({r[name + '_min']:.2f}-"
            f"{r[name + '_max']:.2f})")
  lines = ['| weights % | k | paths | test instability | train instability '
           '| test error at ends | verdict (95 %) | stability point |',
           '|---|---|---|---|---|---|---|---|']
  for r in sorted(rows, key=lambda r: (r['level'], r['rewind_step'])):
    point = stability.get(r['level'])
    lines.append(
        f"| {r['weights_remaining_pct']:.1f} | {r['rewind_step']} | "
        f"{r['paths']} | {cell(r, 'test_instability')} | "
        f"{cell(r, 'train_instability')} | {r['test_end_error_mean']:.2f} | "
        f"{stability_verdict(r, threshold)} | "
        f"{'-' if point is None else point} |")
  return '\n'.join(lines)
