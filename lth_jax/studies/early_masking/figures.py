"""Figures of an early-masking run: ticket accuracy against the step ``t``
its mask comes from, and the t-by-t mask distance heat map."""
import pathlib
from typing import Any

import matplotlib

matplotlib.use('Agg')
# pylint: disable=g-import-not-at-top,wrong-import-position
import matplotlib.pyplot as plt
import numpy as np


def plot_accuracy(rows: list[dict[str, Any]], path: pathlib.Path,
                  first_point: int, dense_es: float) -> None:
  """Ticket accuracy vs t (log axis; t = 0 drawn at first_point / 2) with
  the full-mask ticket and control as bands."""
  levels = sorted({r['level'] for r in rows})
  fig, axes = plt.subplots(1, len(levels), figsize=(6 * len(levels), 4.2),
                           squeeze=False)
  for ax, level in zip(axes[0], levels):
    rs = sorted([r for r in rows if r['level'] == level
                 and r.get('t_step_mean') is not None],
                key=lambda r: r['t_step_mean'])
    x = [max(r['t_step_mean'], first_point / 2) for r in rs]
    def pct(key, rs=rs):
      return [100 * (r[key] if r[key] is not None else np.nan) for r in rs]

    ax.plot(x, pct('ticket_acc_mean'), 'o-', color='C0',
            label='ticket, mask from step t')
    ax.fill_between(x, pct('ticket_acc_min'), pct('ticket_acc_max'),
                    color='C0', alpha=.2)
    for name, color, label in (('dense', 'k', 'dense network'),
                               ('imp', 'C4', 'IMP, same sparsity'),
                               ('full', 'C2', 'mask from step T'),
                               ('control', 'C3', 'random prune control')):
      r0 = rs[-1]
      if r0.get(f'{name}_acc_mean') is None:
        continue
      ax.axhline(100 * r0[f'{name}_acc_mean'], color=color, ls='--',
                 label=label)
      ax.axhspan(100 * r0[f'{name}_acc_min'], 100 * r0[f'{name}_acc_max'],
                 color=color, alpha=.15)
    ax.axvline(dense_es, color='k', ls=':', label='dense early stop (mean)')
    ax.axvline(dense_es / 2, color='grey', ls=':', label='50 % of it')
    ax.set_xscale('log')
    ax.set_xticks(x, [f'{r["t_step_mean"]:g}' for r in rs], fontsize=7)
    ax.minorticks_off()
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
