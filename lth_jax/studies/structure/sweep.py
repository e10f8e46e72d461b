"""Tables of a moons + circles width sweep and of its dependent control.

A sweep is one structure study per hidden width (``runner.study`` of
``configs/structure_moons.py``); the control runs the same study on the
dependent tasks ``moons_circles_xor`` beside the independent ones. Each
table counts the replicates that separate at some level (the thesis's
definition: one full-coverage component per task, ``structure_trend``)
with the 95 % Wilson interval of the fraction; ``trend`` and
``control_verdict`` turn the counts into verdicts that account for the
spread of a binomial count (Cochran-Armitage over log2 width, Fisher's
exact test between the arms).
"""
from typing import Any, Sequence

import numpy as np

from lth_jax.analysis import structure_trend
from lth_jax.studies.structure import runner

OUTCOMES = ('separated', 'separated-degraded', 'degraded', 'interconnected')


def _row(cells: Sequence[str]) -> str:
  return '| ' + ' | '.join(cells) + ' |'


def _head(head: Sequence[str]) -> list[str]:
  return [_row(head), '|' + '---|' * len(head)]


def sweep_table(by_width: dict[int, Sequence[dict[str, Any]]]) -> str:
  """Markdown: per width, how the replicates end and where they split.

  ``by_width`` maps a width to its replicates' outcomes
  (``runner.replicate_outcome``, plus ``weights``).
  """
  out = _head(['width', 'weights', 'levels', 'seeds',
               'separate at some level (95 % Wilson)', *OUTCOMES,
               'first split level', 'remaining at split', 'active at split'])
  for width, outcomes in sorted(by_width.items()):
    o = list(outcomes)
    cells = [str(width), str(o[0].get('weights', '-')),
             str(o[0]['levels'] - 1), str(len(o)),
             str(structure_trend.wilson(*structure_trend.separated(o)))]
    cells += [str(sum(x['outcome'] == k for x in o)) for k in OUTCOMES]
    cells += [runner.mean_range([x['first_separated'] for x in o]),
              runner.mean_range([x.get('remaining_at_split') for x in o]),
              runner.mean_range([x.get('active_at_split') for x in o])]
    out.append(_row(cells))
  return '\n'.join(out)


def trend(by_width: dict[int, Sequence[dict[str, Any]]],
          min_width: int = 0) -> structure_trend.CountTest:
  """Cochran-Armitage test of the separated fraction over log2(width),
  over the widths >= ``min_width``."""
  widths = sorted(w for w in by_width if w >= min_width)
  counts = [structure_trend.separated(by_width[w]) for w in widths]
  return structure_trend.cochran_armitage(
      [c[0] for c in counts], [c[1] for c in counts], np.log2(widths))


def trend_lines(by_width: dict[int, Sequence[dict[str, Any]]],
                min_widths: Sequence[int]) -> str:
  """One line per range of widths: the trend test's verdict."""
  top = max(by_width)
  return '\n'.join(
      f'separated fraction over widths {w}-{top} (Cochran-Armitage, score '
      f'log2 width): {trend(by_width, w)}' for w in min_widths)


def _accuracies(records: Sequence[dict[str, Any]], key: str,
                tasks: Sequence[str]) -> str:
  """'a / b': each task's accuracy %, mean (min-max) over ``records``."""
  return ' / '.join(runner.mean_range(
      [100 * r[key.format(t)] for r in records]) for t in tasks)


def control_table(arms: dict[str, dict[str, Any]],
                  tasks: dict[str, Sequence[str]]) -> str:
  """Markdown: the independent and dependent arms side by side.

  Args:
    arms: arm name -> ``runner.study``'s result (``rows``, ``replicates``).
    tasks: arm name -> its two task names (columns of ``rows``).
  """
  out = _head(['tasks', 'seeds', 'separate at some level (95 % Wilson)',
               *OUTCOMES, 'test acc dense % (task 1 / task 2)',
               'test acc at split % (task 1 / task 2)',
               'test acc last level % (task 1 / task 2)'])
  for name, result in arms.items():
    outcomes, rows = result['replicates'], result['rows']
    last = max(r['level'] for r in rows)
    cells = [name, str(len(outcomes)),
             str(structure_trend.wilson(*structure_trend.separated(outcomes)))]
    cells += [str(sum(o['outcome'] == k for o in outcomes)) for k in OUTCOMES]
    split = [o for o in outcomes if o['first_separated'] is not None]
    at_level = [[r for r in rows if r['level'] == lv] for lv in (0, last)]
    cells += [_accuracies(at_level[0], 'test_acc_{}', tasks[name]),
              _accuracies(split, 'test_acc_{}_at_split', tasks[name])
              if split else '-',
              _accuracies(at_level[1], 'test_acc_{}', tasks[name])]
    out.append(_row(cells))
  return '\n'.join(out)


def control_verdict(independent: Sequence[dict[str, Any]],
                    dependent: Sequence[dict[str, Any]]) -> str:
  """Fisher's test: do independent tasks separate more often?"""
  test = structure_trend.compare(structure_trend.separated(independent),
                                 structure_trend.separated(dependent))
  return ('separated fraction, independent against dependent tasks '
          f"(Fisher's exact test): {test}")
