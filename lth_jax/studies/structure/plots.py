"""Figures of ticket structure: active vs. remaining weights with the
separation marked, per-task input relevance maps, the subnetworks drawn."""
import pathlib
from typing import Any, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import networkx as nx  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from lth_jax.analysis import structure as structure_lib  # pylint: disable=g-import-not-at-top,wrong-import-position
from lth_jax.analysis import structure_nx  # pylint: disable=g-import-not-at-top,wrong-import-position

STATE_COLOURS = {'interconnected': 'tab:orange', 'separated': 'tab:green',
                 'degraded': 'tab:red'}


def plot_active_vs_remaining(rows: Sequence[dict[str, Any]],
                             path: str | pathlib.Path, title: str) -> None:
  """Active against remaining weights per level, one line per replicate;
  each point coloured by state, the first separated level starred."""
  fig, ax = plt.subplots(figsize=(6.4, 4.4))
  for r in sorted({row['replicate'] for row in rows}):
    rep = sorted((row for row in rows if row['replicate'] == r),
                 key=lambda row: row['level'])
    x = [row['remaining'] for row in rep]
    y = [row['active'] for row in rep]
    ax.plot(x, y, color='0.6', lw=1, zorder=1)
    ax.scatter(x, y, c=[STATE_COLOURS[row['state']] for row in rep], s=14,
               zorder=2)
    split = next((row for row in rep if row['state'] == 'separated'), None)
    if split:
      ax.scatter([split['remaining']], [split['active']], marker='*', s=160,
                 color='tab:green', edgecolor='k', zorder=3)
  lo = max(min(row['active'] for row in rows), 1)
  hi = max(row['remaining'] for row in rows)
  ax.plot([lo, hi], [lo, hi], 'k:', lw=0.8,
          label='active = remaining')
  for state, colour in STATE_COLOURS.items():
    ax.scatter([], [], color=colour, s=14, label=state)
  ax.scatter([], [], marker='*', s=120, color='tab:green', edgecolor='k',
             label='first separation')
  ax.set_xscale('log')
  ax.set_yscale('log')
  ax.invert_xaxis()
  ax.set_xlabel('remaining weights')
  ax.set_ylabel('active weights')
  ax.set_title(title)
  ax.grid(True, alpha=0.3)
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def plot_relevance(relevance: np.ndarray, tasks: Sequence[str],
                   side: tuple[int, int], path: str | pathlib.Path,
                   title: str) -> None:
  """Each task head's input relevance as a picture of the input."""
  fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 2.6))
  for ax, name, rel in zip(np.atleast_1d(axes), tasks, relevance):
    im = ax.imshow(rel.reshape(side), cmap='magma')
    ax.set_title(f'{name} head: path weight per input', fontsize=9)
    ax.axvline(side[1] / 2 - 0.5, color='c', lw=0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(im, ax=ax, fraction=0.025)
  fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def layered_layout(g: nx.DiGraph) -> dict[Any, tuple[float, float]]:
  """x = layer; y = rank in the layer by (component, index), so that each
  component is one band."""
  pos = {}
  for layer in sorted({g.nodes[n]['layer'] for n in g}):
    nodes = sorted((n for n in g if g.nodes[n]['layer'] == layer),
                   key=lambda n: (g.nodes[n]['component'], n[1]))
    for rank, n in enumerate(nodes):
      pos[n] = (float(layer), 1.0 - (rank + 0.5) / len(nodes))
  return pos


def draw_subnetworks(masks: Any, structure: structure_lib.Structure,
                     tasks: Sequence[Any], path: str | pathlib.Path,
                     title: str) -> None:
  """The active subgraph, layer by layer, coloured by component."""
  g = structure_nx.to_networkx(masks, structure, tasks)
  fig, ax = plt.subplots(figsize=(7, 5))
  if g.number_of_nodes():
    pos = layered_layout(g)
    comp = [g.nodes[n]['component'] for n in g]
    big = g.number_of_edges() > 3000
    nx.draw_networkx_edges(g, pos, ax=ax, alpha=0.15 if big else 0.5,
                           width=0.3 if big else 0.8, arrows=False)
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color=comp, cmap='tab10',
                           vmin=0, vmax=9, node_size=4 if big else 30)
  ax.set_title(f'{title}: {structure.num_components} component(s), '
               f'{int(structure.active_weights.sum())} active weights',
               fontsize=9)
  ax.axis('off')
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
