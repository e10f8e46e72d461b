"""Tables of a supermask experiment: CSV files, replicate summaries, Markdown.

``lth_jax.studies.supermasks.runner.run`` writes its rows with ``write_csv`` and
their summary (``summarise``); ``to_markdown`` turns that summary into the
tables of ``docs/results/supermasks.md``.
"""
import pathlib
from typing import Any

import numpy as np

from lth_jax import files


def write_csv(path: pathlib.Path, rows: list[dict[str, Any]]) -> None:
  """Writes ``rows`` (dicts with the same keys; ``curve`` left out)."""
  if not rows:
    return
  files.write_csv(path, rows, [c for c in rows[0] if c != 'curve'],
                  decimals=4)


def summarise(rows: list[dict[str, Any]], keys: tuple[str, ...]
              ) -> list[dict[str, Any]]:
  """Mean, min and max test accuracy over replicates per ``keys`` group.

  >>> summarise([{'a': 1, 'weights_remaining_pct': 50., 'test_acc': 90.},
  ...            {'a': 1, 'weights_remaining_pct': 50., 'test_acc': 80.}],
  ...           ('a',))[0]['test_acc_mean']
  85.0
  """
  groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
  for r in rows:
    groups.setdefault(tuple(r[k] for k in keys), []).append(r)
  out = []
  for group_key, group in groups.items():
    acc = np.array([g['test_acc'] for g in group])
    out.append({**dict(zip(keys, group_key)),
                'weights_remaining_pct': float(np.mean(
                    [g['weights_remaining_pct'] for g in group])),
                'replicates': len(group), 'test_acc_mean': float(acc.mean()),
                'test_acc_min': float(acc.min()),
                'test_acc_max': float(acc.max())})
  return out


def _cell(row: dict[str, Any] | None) -> str:
  if row is None:
    return '-'
  if row['replicates'] == 1:
    return f"{row['test_acc_mean']:.2f}"
  return (f"{row['test_acc_mean']:.2f} ({row['test_acc_min']:.2f}-"
          f"{row['test_acc_max']:.2f})")


def to_markdown(summary: list[dict[str, Any]]) -> str:
  """Markdown tables of ``run``'s summary: test accuracy, mean (min-max).

  One table of untrained supermasks per (kept, pruned) treatment (a row per
  criterion, a column per trunk level), then the learned supermasks and
  the trained ticket per fraction of weights remaining.
  """
  out = []
  untrained = [r for r in summary if r['kind'] == 'untrained'
               and r['level'] > 0]
  levels = sorted({r['level'] for r in untrained})
  pct = {r['level']: r['weights_remaining_pct'] for r in untrained}
  tickets = {r['level']: r for r in summary if r['kind'] == 'ticket'}
  treatments = list(dict.fromkeys((r['kept'], r['pruned'])
                                  for r in untrained))
  for kept, pruned in treatments:
    out.append(f'Untrained supermasks, kept = {kept}, pruned = {pruned}:\n')
    out.append('| criterion | ' + ' | '.join(f'{pct[l]:.1f} %'
                                             for l in levels) + ' |')
    out.append('|---' * (len(levels) + 1) + '|')
    for name in dict.fromkeys(r['criterion'] for r in untrained):
      cells = {r['level']: r for r in untrained if r['criterion'] == name
               and r['kept'] == kept and r['pruned'] == pruned}
      out.append(f'| {name} | ' + ' | '.join(_cell(cells.get(l))
                                             for l in levels) + ' |')
    out.append('| trained ticket | ' + ' | '.join(
        _cell(tickets.get(l)) for l in levels) + ' |\n')
  learned = [r for r in summary if r['kind'] == 'learned']
  if learned:
    fracs = sorted({round(r['weights_remaining_pct'], 1) for r in learned})
    out.append('Learned supermasks (frozen weights), and the trained ticket '
               'at the nearest trunk level:\n')
    out.append('| method | ' + ' | '.join(f'{f:g} %' for f in fracs) + ' |')
    out.append('|---' * (len(fracs) + 1) + '|')
    for method in dict.fromkeys(r['criterion'] for r in learned):
      cells = {round(r['weights_remaining_pct'], 1): r for r in learned
               if r['criterion'] == method}
      out.append(f'| {method} | ' + ' | '.join(_cell(cells.get(f))
                                               for f in fracs) + ' |')
    if tickets:
      near = [min(tickets.values(), key=lambda t, f=f: abs(
          t['weights_remaining_pct'] - f)) for f in fracs]
      out.append('| trained ticket | ' + ' | '.join(
          f"{_cell(t)} @ {t['weights_remaining_pct']:.1f} %" for t in near)
                 + ' |')
  return '\n'.join(out) + '\n'
