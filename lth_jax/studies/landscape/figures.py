"""Figures of the landscape study (rows from ``runner.run``).

Barrier against the per-level prune rate, top eigenvalue and spectral
density per level, predicted against measured max prune fraction, and
ticket accuracy against weights remaining (fixed rates and the landscape
rules of ``schedule``).
"""
import pathlib
from typing import Any

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from lth_jax import landscape  # pylint: disable=g-import-not-at-top,wrong-import-position

Rows = list[dict[str, Any]]


def _save(fig: Any, path: pathlib.Path) -> None:
  tmp = path.with_name(f'.{path.name}.tmp.png')
  fig.savefig(tmp, dpi=120, bbox_inches='tight')
  plt.close(fig)
  tmp.replace(path)


def plot_barrier_vs_rate(rows: Rows, threshold: float, path: pathlib.Path
                         ) -> None:
  """Level-to-level barrier against the per-level prune rate."""
  fig, ax = plt.subplots(figsize=(5.5, 3.8))
  plain = [r for r in rows if r['lr_factor'] == 1 and not r.get('rule')
           and 'barrier_next' in r]
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
  for i, rule in enumerate(dict.fromkeys(r['rule'] for r in rows
                                         if r.get('rule'))):
    mine = [r for r in rows if r.get('rule') == rule and 'barrier_next' in r]
    nxt = {(r['replicate'], r['level']): r['max_fraction_' + rule]
           for r in mine}
    ax.scatter([100 * nxt[r['replicate'], r['level']] for r in mine],
               [100 * r['barrier_next'] for r in mine], s=16,
               color=f'C{4 + i}', marker='s',
               label=f'rule {rule} (its chosen fraction)')
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




def plot_accuracy_vs_weights(rows: Rows, path: pathlib.Path) -> None:
  """Ticket test accuracy against weights remaining, mean per level;
  the landscape rules' trunks bold."""
  fig, ax = plt.subplots(figsize=(5.5, 3.8))
  for name in dict.fromkeys(r['variant'] for r in rows):
    mine = [r for r in rows if r['variant'] == name]
    levels = sorted({r['level'] for r in mine})
    w = [np.mean([100 * r['weights_remaining'] for r in mine
                  if r['level'] == l]) for l in levels]
    acc = [[100 * r['test_acc'] for r in mine if r['level'] == l]
           for l in levels]
    rule = bool(mine[0].get('rule'))
    ax.errorbar(w, [np.mean(a) for a in acc], yerr=[np.std(a) for a in acc],
                marker='s' if rule else 'o', ms=5 if rule else 3,
                lw=2.2 if rule else 0.9, capsize=2, label=name,
                zorder=3 if rule else 2)
  ax.set_xscale('log')
  ticks = [t for t in (100, 50, 20, 10, 5, 2, 1, 0.5)
           if min(ax.get_xlim()) <= t <= max(ax.get_xlim())]
  ax.set_xticks(ticks, [f'{t:g}' for t in ticks])
  ax.invert_xaxis()
  ax.set_xlabel('weights remaining (%)')
  ax.set_ylabel('test accuracy at early stop (%)')
  ax.set_ylim(bottom=max(ax.get_ylim()[0], 90))
  ax.legend(fontsize=7)
  _save(fig, path)


def plot_density_per_level(rows: Rows, names: list[str], path: pathlib.Path,
                           points: int = 400) -> None:
  """The SLQ spectral density of each level's Hessian (mean over
  replicates and probes), one panel per variant in ``names``."""
  names = [n for n in names if any(r['variant'] == n and 'density_nodes' in r
                                   for r in rows)]
  if not names:
    return
  nodes = [n for r in rows if r['variant'] in names
           for n in np.ravel(r['density_nodes'])]
  lo, hi = min(nodes), max(nodes)
  pad = 0.05 * (hi - lo)
  grid = np.linspace(lo - pad, hi + pad, points)
  sigma = 0.01 * (hi - lo)
  fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.4),
                           squeeze=False, sharey=True)
  for ax, name in zip(axes[0], names):
    mine = [r for r in rows if r['variant'] == name]
    for level in sorted({r['level'] for r in mine}):
      at = [r for r in mine if r['level'] == level]
      density = np.mean([landscape.density_on_grid(
          r['density_nodes'], r['density_weights'], grid, sigma)
                         for r in at], axis=0)
      ax.plot(grid, np.maximum(density, 1e-6), lw=1,
              label=f"L{level} ({100 * at[0]['weights_remaining']:.0f} %)")
    ax.set_yscale('log')
    ax.set_title(name, fontsize=9)
    ax.set_xlabel('Hessian eigenvalue (train loss)')
    ax.legend(fontsize=6)
  axes[0][0].set_ylabel('spectral density (SLQ)')
  _save(fig, path)
