"""The comparison's table, verdicts and figures from its records.

Per (method, density): the test accuracy at early stop (mean, standard
deviation and count over replicates), training cost in dense-equivalent
runs (FLOPs over one dense training run of ``T`` steps) and wall time per
job (a method's mean over all its densities, so that the compilation in
its first batch is shared; IMP: per level, cumulative). Verdicts compare each method with IMP at the same density
(``analysis.verdicts``: a Welch 95 % t-interval of the difference of
means; ``better``/``worse`` when it excludes 0, else
``indistinguishable``; fewer than 3 replicates: no verdict).
"""
import pathlib
import textwrap
from typing import Any

import matplotlib
import ml_collections
import numpy as np
from lth_jax import errors
from lth_jax import files
from lth_jax.runs import layout
from lth_jax.analysis import verdicts
from lth_jax.lottery import config as config_lib
from lth_jax.studies.sparse_comparison import runner

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position


def _density_key(d: float) -> float:
  """Groups densities within rounding of a count (two significant
  digits: IMP's 3.1251 % and a target of 3.125 % are one density)."""
  return float(f'{float(d):.2g}')


def aggregate(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
  """One row per (method, density) with means and spreads (percent).

  >>> rows = aggregate([{'method': 'a', 'target_density': .5, 'density': .5,
  ...                    'early_stop_test_acc': a, 'dense_runs': 1.,
  ...                    'wall_s': 2., 'replicate': r}
  ...                   for r, a in enumerate((.9, .8))])
  >>> rows[0]['acc_mean'], rows[0]['n']
  (85.0, 2)
  """
  groups: dict[tuple[str, float], list[dict[str, Any]]] = {}
  walls: dict[str, list[float]] = {}
  for r in records:
    if r.get('wall_s') is not None and r['method'] != 'imp':
      walls.setdefault(r['method'], []).append(r['wall_s'])
  for r in records:
    key = (r['method'], _density_key(r['target_density']))
    groups.setdefault(key, []).append(r)
  out = []
  for (method, density), rs in sorted(groups.items(),
                                      key=lambda kv: (-kv[0][1], kv[0][0])):
    rs = sorted(rs, key=lambda r: r['replicate'])
    acc = np.array([100 * r['early_stop_test_acc'] for r in rs])
    wall = (walls.get(method) if method != 'imp' else
            [r['wall_s'] for r in rs if r.get('wall_s') is not None])
    out.append({
        'method': method, 'density': density,
        'density_actual': float(np.mean([r['density'] for r in rs])),
        'acc_mean': float(acc.mean()),
        'acc_std': float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
        'accs': acc.tolist(), 'n': len(acc),
        'replicates': [r['replicate'] for r in rs],
        'dense_runs': float(np.mean([r['dense_runs'] for r in rs])),
        'wall_s': float(np.mean(wall)) if wall else None})
  return out


def verdict(row: dict[str, Any], imp: dict[str, Any] | None) -> str:
  """Against IMP: ``analysis.verdicts.compare``, the 95 % interval of the
  difference of means, paired when both hold the same replicates (they
  share the replicate's init and data order), else Welch's.

  >>> imp = {'method': 'imp', 'accs': [97.0, 97.1, 97.3],
  ...        'replicates': [0, 1, 2]}
  >>> row = {'method': 'a', 'accs': [98.1, 98.2, 98.3],
  ...        'replicates': [0, 1, 2]}
  >>> verdict(row, imp)
  'better [+0.92, +1.21]'
  >>> verdict(dict(row, replicates=[3, 4, 5]), imp)
  'better [+0.75, +1.38]'
  """
  if imp is None or row['method'] == 'imp':
    return ''
  c = verdicts.compare(row['accs'], imp['accs'],
                       paired=row['replicates'] == imp['replicates'])
  if c.verdict == verdicts.INSUFFICIENT:
    return c.verdict
  return f'{c.verdict} [{c.low:+.2f}, {c.high:+.2f}]'


def nearest_imp(rows: list[dict[str, Any]], density: float
                ) -> dict[str, Any] | None:
  """IMP's level nearest ``density`` (in log density), or None.

  IMP's levels land on a preset's densities exactly (rate 1 - 10^-0.1)
  or within a few percent of them (coarser rates); either way the table
  shows the level's own density.

  >>> rows = [{'method': 'imp', 'density': d, 'density_actual': d}
  ...         for d in (1.0, 0.46, 0.22, 0.1)]
  >>> nearest_imp(rows, 0.2)['density_actual']
  0.22
  """
  imp = [r for r in rows if r['method'] == 'imp']
  if not imp:
    return None
  return min(imp, key=lambda r: abs(np.log(r['density_actual'] / density)))


def _line(r: dict[str, Any], versus: str) -> str:
  wall = '' if r['wall_s'] is None else f"{r['wall_s']:.1f}"
  return (f"| {100 * r['density_actual']:.3g} % | {r['method']} | "
          f"{r['acc_mean']:.2f} ({min(r['accs']):.2f}-{max(r['accs']):.2f})"
          f", {r['n']} | "
          f"{versus} | {r['dense_runs']:.3f} | {wall} |")


def to_markdown(rows: list[dict[str, Any]]) -> str:
  """The table: dense IMP, then per density IMP's nearest level and every
  other method against it."""
  lines = ['| density | method | test acc. %: mean (min-max), n | '
           'vs IMP (95 % CI of diff.) | training cost (dense runs) | '
           'wall s/job |', '|---|---|---|---|---|---|']
  dense = [r for r in rows if r['method'] == 'imp' and r['density'] == 1.0]
  lines += [_line(r, '') for r in dense]
  for density in sorted({r['density'] for r in rows
                         if r['method'] != 'imp'}, reverse=True):
    imp = nearest_imp(rows, density)
    if imp is not None:
      lines.append(_line(imp, f'(IMP for {100 * density:.3g} %)'))
    lines += [_line(r, verdict(r, imp)) for r in rows
              if r['method'] != 'imp' and r['density'] == density]
  return '\n'.join(lines) + '\n'


def oneshot_markdown(records: list[dict[str, Any]]) -> str:
  """One-shot quality: accuracy before fine-tuning and the summed
  per-layer reconstruction error, relative to magnitude pruning's."""
  rows: dict[tuple[float, str], list[dict[str, Any]]] = {}
  for r in records:
    if r['kind'] == 'oneshot' and r.get('reconstruction_error'):
      rows.setdefault((_density_key(r['target_density']), r['method']),
                      []).append(r)
  if not rows:
    return ''
  lines = ['| density | method | test acc. % before fine-tuning: mean '
           '(min-max) | '
           'reconstruction error / magnitude\'s |', '|---|---|---|---|']
  for (density, method), rs in sorted(rows.items(),
                                      key=lambda kv: (-kv[0][0], kv[0][1])):
    base = rows.get((density, 'magnitude:uniform'))
    ratio = ''
    if base:
      err = np.mean([sum(r['reconstruction_error'].values()) for r in rs])
      ref = np.mean([sum(r['reconstruction_error'].values()) for r in base])
      ratio = f'{err / ref:.3f}'
    before = [100 * r['start_test_acc'] for r in rs
              if r.get('start_test_acc') is not None]
    acc = (f'{np.mean(before):.2f} ({min(before):.2f}-{max(before):.2f})'
           if before else '')
    lines.append(f'| {100 * density:.3g} % | {method} | {acc} | {ratio} |')
  return '\n'.join(lines) + '\n'


def _style(method: str) -> dict[str, Any]:
  if method == 'imp':
    return {'color': 'black', 'linewidth': 2.5, 'marker': 'o'}
  return {'marker': '.', 'linestyle': '--' if 'uniform' in method else '-'}


#: The accuracy axis spans this many points below the best mean; lower
#: points are listed in the title.
Y_RANGE = 12.0
#: Characters per title line (the title wraps, never overflows the figure).
TITLE_WIDTH = 110


def plot(rows: list[dict[str, Any]], x: str, path: pathlib.Path) -> None:
  """Accuracy vs ``x`` (``'density'`` or ``'dense_runs'``), per method.

  The y axis starts ``Y_RANGE`` points below the best mean; points below
  it are named in the title.
  """
  fig, ax = plt.subplots(figsize=(8, 5))
  ax.set_prop_cycle(color=plt.get_cmap('tab20').colors)
  for method in sorted({r['method'] for r in rows}):
    rs = sorted((r for r in rows if r['method'] == method and
                 r['density'] < 1.0), key=lambda r: r[x])
    if not rs:
      continue
    ax.errorbar([100 * r[x] if x == 'density' else r[x] for r in rs],
                [r['acc_mean'] for r in rs],
                yerr=[r['acc_std'] for r in rs], label=method, capsize=2,
                **_style(method))
  ax.set_xscale('log')
  if x == 'density':
    ax.invert_xaxis()
    ax.set_xlabel('percent of prunable weights kept')
  else:
    ax.set_xlabel('training cost (dense-equivalent training runs, FLOPs)')
  ax.set_ylabel('test accuracy at early stop (%)')
  floor = max(r['acc_mean'] for r in rows) - Y_RANGE
  low = [r for r in rows if r['acc_mean'] < floor]
  if len(low) < len(rows):
    ax.set_ylim(bottom=floor)
    if low:
      ax.set_title(textwrap.fill('below the axis: ' + ', '.join(
          f"{r['method']} at {100 * r['density_actual']:.2g} % "
          f"({r['acc_mean']:.1f} %)" for r in low), TITLE_WIDTH), fontsize=8)
  ax.grid(True, alpha=0.3)
  ax.legend(fontsize=7, ncol=2)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def write_report(config: ml_collections.ConfigDict, workdir: str
                 ) -> dict[str, Any]:
  """Writes ``table.md``, ``table.csv`` and both figures; returns them."""
  out_dir = runner.study_dir(config_lib.run_dir(config.trunk, workdir),
                             config.study)
  records = runner.read_records(out_dir)
  if not records:
    raise errors.MissingInputError(
        f'no sparse-comparison records in {out_dir}; '
        'run experiments.sparse_comparison first.')
  rows = aggregate(records)
  markdown = to_markdown(rows) + '\n' + oneshot_markdown(records)
  out = layout.StudyDir(out_dir)
  paths = {'table': out.file('table.md'), 'csv': out.file('table.csv'),
           'accuracy_vs_density': out.file('accuracy_vs_density.png'),
           'accuracy_vs_flops': out.file('accuracy_vs_flops.png')}
  files.write_text_atomic(paths['table'], markdown)
  columns = ['method', 'density', 'density_actual', 'acc_mean', 'acc_std',
             'n', 'dense_runs', 'wall_s']
  files.write_csv(paths['csv'], rows, columns)
  plot(rows, 'density', paths['accuracy_vs_density'])
  plot(rows, 'dense_runs', paths['accuracy_vs_flops'])
  return {'markdown': markdown, 'rows': rows,
          'files': {k: str(v) for k, v in paths.items()}}
