"""Tables of a moons + circles width sweep and of its dependent control.

A sweep is one structure study per hidden width (``runner.study`` of
``configs/structure_moons.py``); the control runs the same study on the
dependent tasks ``moons_circles_xor`` beside the independent ones. Each
table counts the replicates that separate at some level (the thesis's
definition: one full-coverage component per task, ``structure_trend``)
with the 95 % Wilson interval of the fraction; ``trend`` and
``compare_line`` turn the counts into verdicts that account for the
spread of a binomial count (Cochran-Armitage over log2 width, Fisher's
exact test between the arms).
"""
from typing import Any, Callable, Sequence

import numpy as np

from lth_jax.analysis import structure_trend
from lth_jax.data import two_task
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
  """One line per range of widths (of at least two): the trend test."""
  top = max(by_width)
  return '\n'.join(
      f'separated fraction over widths {w}-{top} (Cochran-Armitage, score '
      f'log2 width): {trend(by_width, w)}' for w in min_widths
      if sum(x >= w for x in by_width) > 1)


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


def compare_line(name_a: str, a: Sequence[dict[str, Any]], name_b: str,
                 b: Sequence[dict[str, Any]]) -> str:
  """Fisher's test: does arm a separate more often than arm b?"""
  test = structure_trend.compare(structure_trend.separated(a),
                                 structure_trend.separated(b))
  return f"separated fraction, {name_a} against {name_b} (Fisher's exact " \
         f'test): {test}'


def control_report(width: int, presets: Sequence[str],
                   datasets: dict[str, str],
                   study: Callable[[int, str, str], dict[str, Any]]
                   ) -> list[str]:
  """The control at ``width``: one arm per tasks option and preset.

  Args:
    width: the hidden width.
    presets: config presets (the sweep's, then a longer one, if any).
    datasets: tasks option -> data set, the independent tasks first
      (``configs/structure_moons.DATASETS``).
    study: (width, tasks option, preset) -> ``runner.study``'s result.

  Returns:
    Lines: a title, ``control_table`` and Fisher's tests, per preset the
    independent against the dependent arm, and each arm's longer preset
    against its first.
  """
  arms, names = {}, {}
  for preset in presets:
    for tasks, data in datasets.items():
      arms[f'{tasks}, {preset}'] = study(width, tasks, preset)
      names[f'{tasks}, {preset}'] = [t[0] for t in two_task.tasks(data)]
  independent, dependent = datasets
  pairs = [(f'{independent}, {p}', f'{dependent}, {p}') for p in presets]
  pairs += [(f'{t}, {p}', f'{t}, {presets[0]}') for p in presets[1:]
            for t in datasets]
  return ['', f'control at width {width}:',
          *control_table(arms, names).splitlines(), ''
          ] + [compare_line(a, arms[a]['replicates'], b,
                            arms[b]['replicates']) for a, b in pairs]
