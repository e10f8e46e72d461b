r"""Moons + circles over hidden widths: where do tickets separate?

  python -m experiments.structure_sweep --workdir=results/structure_sweep \
      --widths=8,10,13,16,20,25,31,38,47,57,64,70,85 --replicates=10 \
      --preset=cpu --control_width=64

Each width is one run of ``configs/structure_moons.py`` (its replicates
train together, vmapped; widths run one after another, as their shapes
differ), pruned to the 112 weights of the 4-8-8-2 base net over the
thesis's extension levels. At ``--control_width`` the same run on the
dependent tasks (``tasks=xor``: output 2 = circles XOR moons) is the
negative control. Prints one row per width with the separated fraction
and its Wilson interval, the Cochran-Armitage trend tests, the control
table with Fisher's test, and writes them to ``<workdir>/sweep.md``.
"""
import pathlib

from absl import flags
from absl import logging

from configs import structure_moons
from experiments import cli
from lth_jax import provenance
from lth_jax.data import two_task
from lth_jax.studies.structure import runner as structure_study
from lth_jax.studies.structure import sweep

_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for results.',
                               required=True)
_WIDTHS = flags.DEFINE_list('widths', ['8', '10', '13', '16', '20', '25',
                                       '31', '38', '47', '57', '64', '70',
                                       '85'],
                            'Hidden widths (2 hidden layers).')
_REPLICATES = flags.DEFINE_integer('replicates', 10, 'Seeds per width.')
_PRESET = flags.DEFINE_string('preset', 'cpu', 'Config preset.')
_CONTROL = flags.DEFINE_integer('control_width', 64, 'Width of the dependent'
                                '-task control (0: none).')
_TREND_FROM = flags.DEFINE_list('trend_from', ['0', '38'], 'Smallest widths '
                                'of the ranges tested for a trend.')


def study(width: int, tasks: str = 'independent'):
  config = structure_moons.get_config(
      f'preset={_PRESET.value},width={width},tasks={tasks},'
      f'replicates={_REPLICATES.value}')
  result = structure_study.study(config, _WORKDIR.value, figures=False)
  weights = structure_moons.weight_count(width)
  result['replicates'] = [dict(o, weights=weights)
                          for o in result['replicates']]
  print(f'width {width}, {tasks} tasks: '
        f'{[o["outcome"] for o in result["replicates"]]}', flush=True)
  return result


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  results = {int(w): study(int(w)) for w in _WIDTHS.value}
  by_width = {w: r['replicates'] for w, r in results.items()}
  text = [sweep.sweep_table(by_width), '',
          sweep.trend_lines(by_width, [int(w) for w in _TREND_FROM.value])]
  if _CONTROL.value:
    width = _CONTROL.value
    arms = {'independent': results.get(width) or study(width),
            'dependent (xor)': study(width, 'xor')}
    names = [[t[0] for t in two_task.tasks(n)]
             for n in structure_moons.DATASETS.values()]
    text += ['', f'control at width {width}:',
             sweep.control_table(arms, dict(zip(arms, names))), '',
             sweep.control_verdict(*(a['replicates'] for a in arms.values()))]
  print('\n'.join(text))
  pathlib.Path(_WORKDIR.value, 'sweep.md').write_text('\n'.join(text) + '\n')
  print(provenance.note(_WORKDIR.value, {
      'widths': _WIDTHS.value, 'replicates': _REPLICATES.value,
      'preset': _PRESET.value, 'control_width': _CONTROL.value}))


if __name__ == '__main__':
  cli.run(main)
