"""Tables and figures of the landscape study (rows from ``runner.run``).

Verdicts use replicates as the unit: a replicate's value is its mean over
levels, and a variant's 95 % t-interval is over its replicates. A variant
is *connected* when the interval of its level-to-level error barrier lies
below the threshold (2 %), *not connected* when it lies above, and
*undecided* otherwise.
"""
import csv
import io
import pathlib
from typing import Any, Iterable

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position
from scipy import stats  # pylint: disable=g-import-not-at-top,wrong-import-position

from lth_jax import files  # pylint: disable=g-import-not-at-top,wrong-import-position

Rows = list[dict[str, Any]]
#: Per-cell columns of ``cells.csv``.
CELL_COLUMNS = ('variant', 'rate', 'lr_factor', 'level', 'replicate',
                'weights_remaining', 'test_acc', 'lambda_max', 'trace',
                'trace_stderr', 'barrier_next', 'train_barrier_next',
                'loss_barrier_next', 'next_test_acc',
                'barrier_next_random_reinit', 'next_test_acc_random_reinit',
                'barrier_dense', 'max_fraction_measured',
                'max_fraction_predicted')


def t_interval(values: Iterable[float]) -> tuple[float, float, float]:
  """Mean and 95 % t-interval (nan half-width for one value).

  >>> [round(v, 3) for v in t_interval([1., 2., 3.])]
  [2.0, -0.484, 4.484]
  """
  v = np.asarray(list(values), np.float64)
  mean = float(v.mean())
  if len(v) < 2:
    return mean, float('nan'), float('nan')
  half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1)
               / np.sqrt(len(v)))
  return mean, mean - half, mean + half


def per_replicate(rows: Rows, key: str) -> list[float]:
  """A replicate's mean of ``key`` over the levels that have it."""
  reps = sorted({r['replicate'] for r in rows})
  out = []
  for rep in reps:
    vals = [r[key] for r in rows if r['replicate'] == rep
            and r.get(key) is not None]
    if vals:
      out.append(float(np.mean(vals)))
  return out


def verdict(lo: float, hi: float, threshold: float) -> str:
  if hi < threshold:
    return 'connected'
  if lo > threshold:
    return 'not connected'
  return 'undecided'


def variant_table(rows: Rows, threshold: float) -> Rows:
  """One row per variant: barrier, accuracy change and basin, with CIs."""
  out = []
  for name in dict.fromkeys(r['variant'] for r in rows):
    mine = [r for r in rows if r['variant'] == name]
    for r in mine:
      if r.get('next_test_acc') is not None:
        r['acc_change_next'] = r['next_test_acc'] - r['test_acc']
    b, b_lo, b_hi = t_interval(per_replicate(mine, 'barrier_next'))
    a, a_lo, a_hi = t_interval(per_replicate(mine, 'acc_change_next'))
    last = max(r['level'] for r in mine)
    final = [r for r in mine if r['level'] == last]
    row = {'variant': name, 'rate': mine[0]['rate'],
           'lr_factor': mine[0]['lr_factor'], 'levels': last,
           'replicates': len({r['replicate'] for r in mine}),
           'final_weights_pct': 100 * final[0]['weights_remaining'],
           'dense_acc': 100 * float(np.mean(
               [r['test_acc'] for r in mine if r['level'] == 0])),
           'final_acc': 100 * float(np.mean([r['test_acc'] for r in final])),
           'barrier_pct': 100 * b, 'barrier_lo': 100 * b_lo,
           'barrier_hi': 100 * b_hi,
           'verdict': verdict(b_lo, b_hi, threshold),
           'acc_change_pct': 100 * a, 'acc_change_lo': 100 * a_lo,
           'acc_change_hi': 100 * a_hi}
    ctrl = per_replicate(mine, 'barrier_next_random_reinit')
    if ctrl:
      c, c_lo, c_hi = t_interval(ctrl)
      row.update(reinit_barrier_pct=100 * c, reinit_barrier_lo=100 * c_lo,
                 reinit_barrier_hi=100 * c_hi)
    out.append(row)
  return out


def to_csv(rows: Rows, columns: Iterable[str]) -> str:
  buf = io.StringIO()
  writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator='\n',
                          extrasaction='ignore')
  writer.writeheader()
  for row in rows:
    writer.writerow({k: (f'{v:.5g}' if isinstance(v, float) else v)
                     for k, v in row.items()})
  return buf.getvalue()


def level_table(rows: Rows) -> Rows:
  """Means over replicates per (variant, level)."""
  keys = ('weights_remaining', 'test_acc', 'lambda_max', 'trace',
          'barrier_next', 'barrier_dense', 'max_fraction_measured',
          'max_fraction_predicted', 'next_test_acc')
  out = []
  groups: dict[tuple[str, int], Rows] = {}
  for r in rows:
    groups.setdefault((r['variant'], r['level']), []).append(r)
  for (name, level), group in groups.items():
    row = {'variant': name, 'level': level}
    for k in keys:
      vals = [g[k] for g in group if g.get(k) is not None]
      row[k] = float(np.mean(vals)) if vals else None
    barriers = [g['barrier_next'] for g in group if 'barrier_next' in g]
    if len(barriers) > 1:
      _, row['barrier_next_lo'], row['barrier_next_hi'] = t_interval(
          barriers)
    out.append(row)
  return out


def prediction_summary(rows: Rows) -> dict[str, float]:
  """How the eigenvalue rule's fraction relates to the measured one, over
  all cells: Spearman's rank correlation and the median of
  measured / predicted."""
  measured = np.asarray([r['max_fraction_measured'] for r in rows])
  predicted = np.asarray([r['max_fraction_predicted'] for r in rows])
  rho = stats.spearmanr(measured, predicted)
  ok = predicted > 0
  return {'spearman_rho': float(rho.statistic),
          'spearman_p': float(rho.pvalue), 'cells': len(rows),
          'median_ratio': float(np.median(measured[ok] / predicted[ok])),
          'predicted_below_measured': float(np.mean(predicted <= measured))}


def _fmt(v: Any, scale: float = 1.0, digits: int = 2) -> str:
  return '-' if v is None else f'{scale * v:.{digits}f}'


def markdown(variants: Rows, levels: Rows, rows: Rows) -> str:
  """Both tables and the prediction summary as Markdown."""
  lines = ['| variant | levels | weights left % | dense acc % | final acc % '
           '| barrier L->L+1 % (95 % CI) | verdict | acc change per level % '
           '(95 % CI) | reinit barrier % |', '|' + '---|' * 9]
  for v in variants:
    reinit = (f"{v['reinit_barrier_pct']:.2f} ({v['reinit_barrier_lo']:.2f},"
              f" {v['reinit_barrier_hi']:.2f})" if 'reinit_barrier_pct' in v
              else '-')
    lines.append(
        f"| {v['variant']} | {v['levels']} | {v['final_weights_pct']:.2f} | "
        f"{v['dense_acc']:.2f} | {v['final_acc']:.2f} | "
        f"{v['barrier_pct']:.2f} ({v['barrier_lo']:.2f}, "
        f"{v['barrier_hi']:.2f}) | {v['verdict']} | "
        f"{v['acc_change_pct']:+.2f} ({v['acc_change_lo']:+.2f}, "
        f"{v['acc_change_hi']:+.2f}) | {reinit} |")
  lines += ['', '| variant | level | weights % | test acc % | lambda_max | '
            'trace | barrier to L+1 % (95 % CI) | barrier to dense % | max '
            'prune measured | predicted |', '|' + '---|' * 10]
  for r in levels:
    ci = (f" ({_fmt(r['barrier_next_lo'], 100)}, "
          f"{_fmt(r['barrier_next_hi'], 100)})" if 'barrier_next_lo' in r
          else '')
    lines.append(
        f"| {r['variant']} | {r['level']} | "
        f"{_fmt(r['weights_remaining'], 100)} | {_fmt(r['test_acc'], 100)} "
        f"| {_fmt(r['lambda_max'])} | {_fmt(r['trace'], 1, 1)} | "
        f"{_fmt(r['barrier_next'], 100)}{ci} | "
        f"{_fmt(r['barrier_dense'], 100)} "
        f"| {_fmt(r['max_fraction_measured'], 1, 3)} | "
        f"{_fmt(r['max_fraction_predicted'], 1, 3)} |")
  p = prediction_summary(rows)
  lines += ['', f"Eigenvalue rule vs measured max prune fraction over "
            f"{p['cells']} cells: Spearman rho {p['spearman_rho']:.2f} "
            f"(p = {p['spearman_p']:.1e}); measured / predicted median "
            f"{p['median_ratio']:.1f}; predicted <= measured in "
            f"{100 * p['predicted_below_measured']:.0f} % of cells."]
  return '\n'.join(lines) + '\n'


def _save(fig: Any, path: pathlib.Path) -> None:
  tmp = path.with_name(f'.{path.name}.tmp.png')
  fig.savefig(tmp, dpi=120, bbox_inches='tight')
  plt.close(fig)
  tmp.replace(path)


def plot_barrier_vs_rate(rows: Rows, threshold: float, path: pathlib.Path
                         ) -> None:
  """Level-to-level barrier against the per-level prune rate."""
  fig, ax = plt.subplots(figsize=(5.5, 3.8))
  plain = [r for r in rows if r['lr_factor'] == 1 and 'barrier_next' in r]
  rates = sorted({r['rate'] for r in plain})
  for i, rate in enumerate(rates):
    vals = [100 * r['barrier_next'] for r in plain if r['rate'] == rate]
    ax.scatter(np.full(len(vals), 100 * rate) + np.linspace(-1, 1, len(vals)),
               vals, s=10, color='C0', alpha=0.5,
               label='trunk L->L+1 (each level, replicate)' if i == 0
               else None)
  ax.plot([100 * r for r in rates],
          [100 * np.mean([r['barrier_next'] for r in plain
                          if r['rate'] == rate]) for rate in rates],
          color='C0', marker='o', label='trunk mean')
  ctrl = [r for r in rows if 'barrier_next_random_reinit' in r]
  if ctrl:
    ax.scatter([100 * r['rate'] + 2 for r in ctrl],
               [100 * r['barrier_next_random_reinit'] for r in ctrl], s=10,
               color='C3', marker='x', label='to random-reinit L+1')
  high = [r for r in rows if r['lr_factor'] != 1 and 'barrier_next' in r]
  if high:
    ax.scatter([100 * r['rate'] - 2 for r in high],
               [100 * r['barrier_next'] for r in high], s=14, color='C1',
               marker='^', label=f"learning rate x{high[0]['lr_factor']:g}")
  ax.axhline(100 * threshold, color='grey', ls='--', lw=1)
  shown = [100 * v for r in rows for k, v in r.items()
           if k.startswith('barrier_next') and v is not None]
  ax.set_ylim(min(-0.5, min(shown) * 1.5), max(shown) * 1.5)
  ax.set_xlabel('prune rate per level (% of remaining weights)')
  ax.set_ylabel('test error barrier L -> L+1 (%)')
  ax.set_yscale('symlog', linthresh=1)
  ax.legend(fontsize=7)
  _save(fig, path)


def plot_eigenvalue_vs_level(rows: Rows, path: pathlib.Path) -> None:
  """Top Hessian eigenvalue per level, one line per variant."""
  fig, ax = plt.subplots(figsize=(5.5, 3.8))
  for name in dict.fromkeys(r['variant'] for r in rows):
    mine = [r for r in rows if r['variant'] == name]
    levels = sorted({r['level'] for r in mine})
    vals = [[r['lambda_max'] for r in mine if r['level'] == l]
            for l in levels]
    ax.errorbar(levels, [np.mean(v) for v in vals],
                yerr=[np.std(v) for v in vals], marker='o', capsize=2,
                label=name)
  ax.set_xlabel('IMP level')
  ax.set_ylabel('top Hessian eigenvalue (train loss)')
  ax.set_yscale('log')
  ax.legend(fontsize=7)
  _save(fig, path)


def plot_predicted_vs_measured(rows: Rows, path: pathlib.Path) -> None:
  """Max one-shot prune fraction: eigenvalue rule against bisection."""
  fig, ax = plt.subplots(figsize=(4.5, 4.2))
  for name in dict.fromkeys(r['variant'] for r in rows):
    mine = [r for r in rows if r['variant'] == name]
    ax.scatter([r['max_fraction_measured'] for r in mine],
               [r['max_fraction_predicted'] for r in mine], s=12,
               label=name)
  ax.plot([0, 1], [0, 1], color='grey', ls='--', lw=1)
  ax.set_xlabel('measured max prune fraction (loss increase)')
  ax.set_ylabel('predicted: 0.5 lambda_max ||delta||^2')
  ax.set_xlim(0, 1)
  ax.set_ylim(0, 1)
  ax.legend(fontsize=7)
  _save(fig, path)


def write_report(rows: Rows, threshold: float, out_dir: str | pathlib.Path
                 ) -> dict[str, Any]:
  """Writes ``cells.csv``, ``variants.csv``, ``landscape.md`` and the three
  figures to ``out_dir``; returns the tables and the Markdown."""
  out = pathlib.Path(out_dir)
  out.mkdir(parents=True, exist_ok=True)
  variants = variant_table(rows, threshold)
  levels = level_table(rows)
  text = markdown(variants, levels, rows)
  files.write_text_atomic(out / 'cells.csv', to_csv(rows, CELL_COLUMNS))
  files.write_text_atomic(out / 'variants.csv',
                          to_csv(variants, list(variants[0])))
  files.write_text_atomic(out / 'landscape.md', text)
  plot_barrier_vs_rate(rows, threshold, out / 'barrier_vs_rate.png')
  plot_eigenvalue_vs_level(rows, out / 'top_eigenvalue_vs_level.png')
  plot_predicted_vs_measured(rows, out / 'predicted_vs_measured.png')
  return {'variants': variants, 'levels': levels, 'markdown': text}
