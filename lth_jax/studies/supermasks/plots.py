"""Supermask figure: test accuracy vs. weights remaining, per criterion.

One panel per kept-weight treatment of the untrained supermasks (pruned
weights zero), each with every criterion, the learned supermasks and the
trained ticket; mean over replicates with a min/max band, weights remaining
on a reversed log axis as in the lottery figures.
"""
import pathlib
from typing import Any

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
from matplotlib import ticker  # pylint: disable=g-import-not-at-top,wrong-import-position

#: Learned supermasks in colours no criterion line uses.
LEARNED_COLOURS = {'edge_popup': 'crimson', 'bernoulli': 'darkviolet'}
#: Panels drawn, in order, when the rows have them.
PANELS = ('init', 'signed_constant')


def _line(ax, rows: list[dict[str, Any]], label: str, **style) -> None:
  rows = sorted(rows, key=lambda r: -r['weights_remaining_pct'])
  x = [r['weights_remaining_pct'] for r in rows]
  (line,) = ax.plot(x, [r['test_acc_mean'] for r in rows], label=label,
                    marker='o', markersize=3, **style)
  ax.fill_between(x, [r['test_acc_min'] for r in rows],
                  [r['test_acc_max'] for r in rows], color=line.get_color(),
                  alpha=0.15, linewidth=0)


def plot_supermasks(summary: list[dict[str, Any]], path: str | pathlib.Path,
                    title: str = '') -> None:
  """Writes the figure of ``supermasks.run``'s summary rows to ``path``."""
  untrained = [r for r in summary if r['kind'] == 'untrained'
               and r['pruned'] == 'zero' and r['level'] > 0]
  panels = [p for p in PANELS if any(r['kept'] == p for r in untrained)]
  panels = panels or ['']
  fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels) + 2, 4.6),
                           squeeze=False)
  for ax, kept in zip(axes[0], panels):
    for name in sorted({r['criterion'] for r in untrained}):
      _line(ax, [r for r in untrained if r['criterion'] == name
                 and r['kept'] == kept], name, linestyle='--',
            linewidth=1)
    for method in sorted({r['criterion'] for r in summary
                          if r['kind'] == 'learned'}):
      _line(ax, [r for r in summary if r['kind'] == 'learned'
                 and r['criterion'] == method], f'learned {method}',
            linewidth=2.5, color=LEARNED_COLOURS.get(method))
    _line(ax, [r for r in summary if r['kind'] == 'ticket'],
          'trained ticket', color='black', linewidth=2)
    ax.set_xscale('log')
    ax.invert_xaxis()
    ax.set_xticks([100, 50, 30, 20, 10, 5, 3])
    ax.xaxis.set_major_formatter(ticker.FormatStrFormatter('%g'))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel('weights remaining (%)')
    ax.set_ylabel('test accuracy (%)')
    ax.set_title(f'{title} untrained masks: kept = {kept}, pruned = zero'
                 if kept else title, fontsize='medium')
    ax.axhline(10, color='gray', linestyle=':', linewidth=1)
    ax.grid(alpha=0.3)
  axes[0][-1].legend(fontsize='x-small', loc='center left',
                     bbox_to_anchor=(1.01, 0.5))
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
