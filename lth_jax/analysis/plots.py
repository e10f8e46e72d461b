"""Figures in the LTH papers' style (matplotlib, written as PNG)."""
import pathlib
from typing import Any

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position


def _by_branch(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
  out: dict[str, list[dict[str, Any]]] = {}
  for r in rows:
    out.setdefault(r['branch'], []).append(r)
  return out


def _setup_axis(ax, ylabel: str) -> None:
  ax.set_xscale('log')
  ax.invert_xaxis()
  ax.set_xlabel('percent of weights remaining')
  ax.set_ylabel(ylabel)
  ax.grid(True, which='both', alpha=0.3)


def plot_accuracy(rows: list[dict[str, Any]], path: str | pathlib.Path,
                  title: str = '') -> None:
  """Test accuracy at early stop vs. weights remaining (log axis), with the
  min/max band over replicates, one line per branch (trunk and controls)."""
  fig, ax = plt.subplots(figsize=(6, 4))
  for branch, group in _by_branch(rows).items():
    x = [r['weights_remaining_pct'] for r in group]
    ax.plot(x, [r['early_stop_test_acc_mean'] for r in group], marker='o',
            markersize=3, label=branch)
    ax.fill_between(x, [r['early_stop_test_acc_min'] for r in group],
                    [r['early_stop_test_acc_max'] for r in group], alpha=0.2)
  _setup_axis(ax, 'test accuracy at early stop (%)')
  ax.set_title(title)
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def plot_early_stop(rows: list[dict[str, Any]], path: str | pathlib.Path,
                    title: str = '') -> None:
  """Early-stopping iteration (minimum validation loss) vs. weights left."""
  fig, ax = plt.subplots(figsize=(6, 4))
  for branch, group in _by_branch(rows).items():
    ax.plot([r['weights_remaining_pct'] for r in group],
            [r['early_stop_step_mean'] for r in group], marker='o',
            markersize=3, label=branch)
  _setup_axis(ax, 'early-stop iteration')
  ax.set_title(title)
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
