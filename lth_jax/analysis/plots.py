"""Figures in the LTH papers' style (matplotlib, written as PNG).

Percent of weights remaining on a reversed log axis (100 % on the left),
one line per curve (the trunk and each control, per run) with its mean
over replicates and a min/max band, as in Frankle & Carbin 2019.
"""
import pathlib
from typing import Any

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
from matplotlib import ticker  # pylint: disable=g-import-not-at-top,wrong-import-position

#: The trunk is drawn solid, controls dashed.
TRUNK = 'trunk'


def curves(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
  """Aggregated rows grouped into labelled curves, sorted by level.

  The label is the branch, prefixed by the run's label when the rows come
  from several runs.

  >>> sorted(curves([{'run': 'a', 'branch': 'trunk', 'level': 0},
  ...                {'run': 'b', 'branch': 'trunk', 'level': 0}]))
  ['a trunk', 'b trunk']
  """
  several = len({r.get('run', '') for r in rows}) > 1
  out: dict[str, list[dict[str, Any]]] = {}
  for r in sorted(rows, key=lambda r: r['level']):
    label = f"{r['run']} {r['branch']}" if several else r['branch']
    out.setdefault(label, []).append(r)
  return out


def weights_limits(rows: list[dict[str, Any]],
                   margin: float = 1.15) -> tuple[float, float]:
  """The reversed x limits (left, right) that show every plotted row.

  Taken from all rows, not only the trunk's, so that a branch sparser than
  the trunk's last level (a transferred ticket, say) stays in view.

  >>> weights_limits([{'branch': 'trunk', 'weights_remaining_pct': 100.},
  ...                 {'branch': 'x', 'weights_remaining_pct': 3.6}], 1.0)
  (100.0, 3.6)
  """
  xs = [r['weights_remaining_pct'] for r in rows]
  return max(xs) * margin, min(xs) / margin


def _weights_axis(ax, rows: list[dict[str, Any]]) -> None:
  """Log x axis, reversed, with a labelled tick at every level of the
  trunk (of every row without a trunk), so that each point can be read
  off as its level; labels turn upright when there are more than 8. Its
  limits span every plotted row."""
  ax.set_xscale('log')
  xs = sorted({round(r['weights_remaining_pct'], 1) for r in rows
               if r['branch'] == TRUNK} or
              {round(r['weights_remaining_pct'], 1) for r in rows},
              reverse=True)
  ax.set_xticks(xs)
  ax.xaxis.set_major_formatter(ticker.FormatStrFormatter('%g'))
  ax.xaxis.set_minor_locator(ticker.NullLocator())
  if len(xs) > 8:
    ax.tick_params(axis='x', labelrotation=90, labelsize='x-small')
  ax.set_xlim(*weights_limits(rows))
  ax.set_xlabel('percent of weights remaining')
  ax.grid(True, alpha=0.3)


def _plot_band(ax, rows: list[dict[str, Any]], metric: str, title: str,
               ylabel: str, path: str | pathlib.Path,
               dense_line: bool) -> None:
  for label, group in curves(rows).items():
    x = [r['weights_remaining_pct'] for r in group]
    style = '-' if label.endswith(TRUNK) else '--'
    (line,) = ax.plot(x, [r[f'{metric}_mean'] for r in group], style,
                      marker='o', markersize=3, label=label)
    ax.fill_between(x, [r[f'{metric}_min'] for r in group],
                    [r[f'{metric}_max'] for r in group],
                    color=line.get_color(), alpha=0.2, linewidth=0)
  if dense_line:
    dense = [r for r in rows if r['branch'] == TRUNK and r['level'] == 0]
    if len(dense) == 1:
      ax.axhline(dense[0][f'{metric}_mean'], color='gray', linestyle=':',
                 linewidth=1, label='dense')
  _weights_axis(ax, rows)
  ax.set_ylabel(ylabel)
  ax.set_title(title)
  ax.legend(fontsize='small')
  fig = ax.figure
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def plot_accuracy(rows: list[dict[str, Any]], path: str | pathlib.Path,
                  title: str = '', metric: str = 'accuracy') -> None:
  """Test accuracy (or ``metric``, e.g. ``'micro-F1'``, x 100) at early
  stop vs. weights remaining, with the min/max band over replicates and a
  dotted line at the dense network's value."""
  _, ax = plt.subplots(figsize=(6.4, 4.2))
  _plot_band(ax, rows, 'early_stop_test_acc', title,
             f'test {metric} at early stop (%)', path, dense_line=True)


def plot_early_stop(rows: list[dict[str, Any]], path: str | pathlib.Path,
                    title: str = '') -> None:
  """Early-stopping iteration (minimum validation loss) vs. weights left,
  with the min/max band over replicates."""
  _, ax = plt.subplots(figsize=(6.4, 4.2))
  _plot_band(ax, rows, 'early_stop_step', title, 'early-stop iteration',
             path, dense_line=False)
