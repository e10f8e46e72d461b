r"""Moons + circles over hidden widths: where do tickets separate?

  python -m experiments.structure_sweep --workdir=results/structure_sweep \
      --widths=8,10,13,16,20,25,31,38,47,57,64,70,85 --replicates=10 \
      --preset=cpu --control_width=64 --long_preset=paper

Each width is one run of ``configs/structure_moons.py`` (its replicates
train together, vmapped; widths run one after another, as their shapes
differ), pruned to the 112 weights of the 4-8-8-2 base net over the
thesis's extension levels. At ``--control_width`` the same run on the
dependent tasks (``tasks=xor``: output 2 = circles XOR moons) is the
negative control; ``--long_preset=paper`` repeats both arms with the
thesis's training (early stopping, patience 30 epochs). Prints one row
per width with the separated fraction and its Wilson interval, the
Cochran-Armitage trend tests, the control table with Fisher's tests, and
writes them to ``<workdir>/sweep.md``.
"""
import functools
import pathlib

from absl import flags
from absl import logging

from configs import structure_moons
from experiments import cli
from lth_jax import provenance
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
_TREND_FROM = flags.DEFINE_list('trend_from', ['0', '38', '47'], 'Smallest '
                                'widths of the ranges tested for a trend.')
_LONG = flags.DEFINE_string('long_preset', '', 'Also run the control under '
                            'this preset (longer training; e.g. paper).')


@functools.cache
def study(width: int, tasks: str, preset: str):
  """``runner.study`` of one width, tasks option and preset (once)."""
  config = structure_moons.get_config(
      f'preset={preset},width={width},tasks={tasks},'
      f'replicates={_REPLICATES.value}')
  result = structure_study.study(config, _WORKDIR.value, figures=False)
  weights = structure_moons.weight_count(width)
  result['replicates'] = [dict(o, weights=weights)
                          for o in result['replicates']]
  print(f'width {width}, {tasks} tasks, {preset}: '
        f'{[o["outcome"] for o in result["replicates"]]}', flush=True)
  return result


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  by_width = {int(w): study(int(w), 'independent', _PRESET.value)[
      'replicates'] for w in _WIDTHS.value}
  text = [sweep.sweep_table(by_width), '',
          sweep.trend_lines(by_width, [int(w) for w in _TREND_FROM.value])]
  if _CONTROL.value:
    presets = [p for p in (_PRESET.value, _LONG.value) if p]
    text += sweep.control_report(_CONTROL.value, presets,
                                 structure_moons.DATASETS, study)
  print('\n'.join(text))
  pathlib.Path(_WORKDIR.value, 'sweep.md').write_text('\n'.join(text) + '\n')
  print(provenance.note(_WORKDIR.value, {
      'widths': _WIDTHS.value, 'replicates': _REPLICATES.value,
      'preset': _PRESET.value, 'long_preset': _LONG.value,
      'control_width': _CONTROL.value}))


if __name__ == '__main__':
  cli.run(main)
