"""Tables of the landscape study (rows from ``runner.run``); figures in
``figures``.

Verdicts use replicates as the unit and ``analysis.verdicts``' 95 % t
intervals: a replicate's value is its mean over levels; a variant is
*connected* when the interval of its level-to-level error barrier lies
below the threshold (2 %), *not connected* when it lies above, and
*undecided* otherwise (``verdicts.against``). The landscape rules'
trunks (``schedule``) are compared level by level with the fixed-rate
trunk they replace, paired by replicate (replicate i of both shares its
seeds and its level 0), and each of their tickets with its dense network
(``verdicts.winning_ticket``).
"""
import csv
import io
import pathlib
from typing import Any, Iterable

import numpy as np
from scipy import stats

from lth_jax import files
from lth_jax.runs import layout
from lth_jax.analysis import verdicts
from lth_jax.studies.landscape import figures

Rows = list[dict[str, Any]]
#: Per-cell columns of ``cells.csv``.
CELL_COLUMNS = ('variant', 'rate', 'lr_factor', 'level', 'replicate',
                'weights_remaining', 'test_acc', 'lambda_max', 'trace',
                'trace_stderr', 'barrier_next', 'train_barrier_next',
                'loss_barrier_next', 'next_test_acc',
                'barrier_next_random_reinit', 'next_test_acc_random_reinit',
                'barrier_dense', 'max_fraction_measured',
                'max_fraction_predicted', 'rule', 'early_stop_step')


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


#: ``verdicts.against(barriers, threshold)`` in the study's words.
CONNECTIVITY = {verdicts.WORSE: 'connected', verdicts.BETTER: 'not connected',
                verdicts.INDISTINGUISHABLE: 'undecided',
                verdicts.INSUFFICIENT: verdicts.INSUFFICIENT}


def connectivity(barriers: Iterable[float], threshold: float) -> str:
  """Whether per-replicate barriers lie below ``threshold``.

  >>> connectivity([0.001, 0.002, 0.0015], 0.02)
  'connected'
  >>> connectivity([0.01, 0.03, 0.05], 0.02)
  'undecided'
  """
  return CONNECTIVITY[verdicts.against(list(barriers), threshold).verdict]


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
           'final_weights_pct': 100 * float(np.mean(
               [r['weights_remaining'] for r in final])),
           'dense_acc': 100 * float(np.mean(
               [r['test_acc'] for r in mine if r['level'] == 0])),
           'final_acc': 100 * float(np.mean([r['test_acc'] for r in final])),
           'barrier_pct': 100 * b, 'barrier_lo': 100 * b_lo,
           'barrier_hi': 100 * b_hi,
           'verdict': connectivity(per_replicate(mine, 'barrier_next'),
                                   threshold),
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


def _by_replicate(rows: Rows, level: int, key: str) -> list[float]:
  at = sorted((r for r in rows if r['level'] == level
               and r.get(key) is not None), key=lambda r: r['replicate'])
  return [100 * r[key] for r in at]


def nearest_fixed(rows: Rows, weights: float) -> tuple[str, int] | None:
  """The fixed-rate (no rule, trunk learning rate) variant and level whose
  mean weights remaining is nearest to ``weights`` (a fraction) in ratio."""
  best = None
  for r in level_table([r for r in rows if r['lr_factor'] == 1
                        and not r.get('rule')]):
    gap = abs(np.log(r['weights_remaining'] / weights))
    if best is None or gap < best[0]:
      best = (gap, r['variant'], r['level'])
  return best and best[1:]


def rule_table(rows: Rows, reference: str) -> Rows:
  """Per level of each landscape rule's trunk: its chosen fraction, its
  weights, ticket accuracy and barrier to the next level beside
  ``reference``'s at the same level (paired ``verdicts.compare``, in
  percentage points), its accuracy against the fixed-rate level nearest in
  weights (``nearest_fixed``, paired), and whether its ticket wins against
  its dense network (``verdicts.winning_ticket``, paired)."""
  ref = [r for r in rows if r['variant'] == reference]
  out = []
  for rule in dict.fromkeys(r['rule'] for r in rows if r.get('rule')):
    mine = [r for r in rows if r.get('rule') == rule]
    for level in sorted({r['level'] for r in mine}):
      row = {'variant': mine[0]['variant'], 'level': level}
      if level > 0:
        row['fraction'] = float(np.mean(
            [r['max_fraction_' + rule] for r in mine
             if r['level'] == level - 1]))
      for arm, arm_rows in (('rule', mine), ('ref', ref)):
        for key in ('weights_remaining', 'test_acc', 'barrier_next'):
          vals = _by_replicate(arm_rows, level, key)
          row[f'{arm}_{key}'] = float(np.mean(vals)) if vals else None
      for key in ('test_acc', 'barrier_next'):
        a, b = _by_replicate(mine, level, key), _by_replicate(ref, level, key)
        if a and len(a) == len(b):
          c = verdicts.compare(a, b, paired=True)
          row.update({f'{key}_diff': c.diff, f'{key}_lo': c.low,
                      f'{key}_hi': c.high, f'{key}_verdict': c.verdict})
      near = nearest_fixed(rows, row['rule_weights_remaining'] / 100)
      if level > 0 and near:
        other = [r for r in rows if r['variant'] == near[0]]
        a = _by_replicate(mine, level, 'test_acc')
        b = _by_replicate(other, near[1], 'test_acc')
        c = verdicts.compare(a, b, paired=len(a) == len(b))
        row.update(near=f'{near[0]} L{near[1]}', near_weights=float(
            np.mean(_by_replicate(other, near[1], 'weights_remaining'))),
                   near_test_acc=float(np.mean(b)), near_diff=c.diff,
                   near_lo=c.low, near_hi=c.high, near_verdict=c.verdict)
      if level > 0:
        ticket = verdicts.winning_ticket(
            _by_replicate(mine, level, 'test_acc'),
            _by_replicate(mine, 0, 'test_acc'),
            _by_replicate(mine, level, 'early_stop_step'),
            _by_replicate(mine, 0, 'early_stop_step'), paired=True)
        row['wins'] = {True: 'yes', False: 'no', None:
                       verdicts.INSUFFICIENT}[ticket.wins]
      out.append(row)
  return out


#: Verdict words for a difference of barriers (higher is not better).
_BARRIER_WORDS = {verdicts.BETTER: 'higher', verdicts.WORSE: 'lower'}


def _diff(row: dict[str, Any], key: str, words: dict[str, str] | None = None
          ) -> str:
  if f'{key}_diff' not in row:
    return '-'
  word = (words or {}).get(row[f'{key}_verdict'], row[f'{key}_verdict'])
  if np.isnan(row[f'{key}_lo']):
    return f"{row[f'{key}_diff']:+.2f} ({word})"
  return (f"{row[f'{key}_diff']:+.2f} ({row[f'{key}_lo']:+.2f}, "
          f"{row[f'{key}_hi']:+.2f}) {word}")


def rule_markdown(rules: Rows, reference: str) -> str:
  """``rule_table`` as Markdown (empty without rules)."""
  if not rules:
    return ''
  lines = ['', f'| variant | level | fraction chosen | weights % | '
           f'{reference} weights % | acc % | {reference} acc % | acc diff '
           f'(95 % CI) | barrier L->L+1 % | {reference} barrier % | '
           'barrier diff (95 % CI) | wins vs dense |', '|' + '---|' * 12]
  near = ['', '| variant | level | weights % | acc % | fixed-rate level '
          'nearest in weights | its weights % | its acc % | acc diff '
          '(95 % CI) |', '|' + '---|' * 8]
  for r in rules:
    lines.append(
        f"| {r['variant']} | {r['level']} | {_fmt(r.get('fraction'), 1, 3)}"
        f" | {_fmt(r['rule_weights_remaining'])} | "
        f"{_fmt(r['ref_weights_remaining'])} | {_fmt(r['rule_test_acc'])} | "
        f"{_fmt(r['ref_test_acc'])} | {_diff(r, 'test_acc')} | "
        f"{_fmt(r['rule_barrier_next'])} | {_fmt(r['ref_barrier_next'])} | "
        f"{_diff(r, 'barrier_next', _BARRIER_WORDS)} | "
        f"{r.get('wins', '-')} |")
    if 'near' in r:
      near.append(
          f"| {r['variant']} | {r['level']} | "
          f"{_fmt(r['rule_weights_remaining'])} | {_fmt(r['rule_test_acc'])}"
          f" | {r['near']} | {_fmt(r['near_weights'])} | "
          f"{_fmt(r['near_test_acc'])} | {_diff(r, 'near')} |")
  return '\n'.join(lines + near) + '\n'


def write_report(rows: Rows, threshold: float, out_dir: str | pathlib.Path,
                 reference: str = 'rate_20') -> dict[str, Any]:
  """Writes ``cells.csv``, ``variants.csv``, ``rules.csv``,
  ``landscape.md`` and the figures to ``out_dir``; returns the tables and
  the Markdown. ``reference``: the fixed-rate variant the rules' trunks
  are compared with. The spectral density figure has a panel per variant
  whose rows hold densities."""
  out = layout.StudyDir(out_dir)
  out.path.mkdir(parents=True, exist_ok=True)
  variants = variant_table(rows, threshold)
  levels = level_table(rows)
  rules = rule_table(rows, reference)
  text = markdown(variants, levels, rows) + rule_markdown(rules, reference)
  if rules:
    files.write_text_atomic(out.file('rules.csv'),
                            to_csv(rules, list(rules[0])))
  files.write_text_atomic(out.file('cells.csv'), to_csv(rows, CELL_COLUMNS))
  files.write_text_atomic(out.file('variants.csv'),
                          to_csv(variants, list(variants[0])))
  files.write_text_atomic(out.file('landscape.md'), text)
  figures.plot_barrier_vs_rate(rows, threshold,
                               out.file('barrier_vs_rate.png'))
  figures.plot_eigenvalue_vs_level(rows,
                                   out.file('top_eigenvalue_vs_level.png'))
  figures.plot_predicted_vs_measured(rows,
                                     out.file('predicted_vs_measured.png'))
  figures.plot_accuracy_vs_weights(rows,
                                   out.file('accuracy_vs_weights.png'))
  figures.plot_density_per_level(
      rows, list(dict.fromkeys(r['variant'] for r in rows
                               if 'density_nodes' in r)),
      out.file('spectral_density.png'))
  return {'variants': variants, 'levels': levels, 'rules': rules,
          'markdown': text}
