r"""Moons + circles over hidden widths: where do tickets separate?

  python -m experiments.structure_sweep --workdir=results/structure_sweep \
      --widths=8,10,13,16,20,25,31,38,47,57,64 --replicates=5 --preset=cpu

Each width is one run of ``configs/structure_moons.py`` (its replicates
train together; widths run one after another, as their shapes differ),
pruned to the 112 weights of the 4-8-8-2 base net over the thesis's
extension levels. Prints one table row per width and writes
``<workdir>/sweep.md``.
"""
import pathlib

from absl import flags
from absl import logging

from configs import structure_moons
from experiments import cli
from lth_jax import provenance
from lth_jax.studies.structure import runner as structure_study

_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for results.',
                               required=True)
_WIDTHS = flags.DEFINE_list('widths', ['8', '10', '13', '16', '20', '25',
                                       '31', '38', '47', '57', '64'],
                            'Hidden widths (2 hidden layers).')
_REPLICATES = flags.DEFINE_integer('replicates', 5, 'Seeds per width.')
_PRESET = flags.DEFINE_string('preset', 'cpu', 'Config preset.')
_FIGURES = flags.DEFINE_bool('figures', False, 'Write each width\'s PNGs.')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  by_width = {}
  for width in (int(w) for w in _WIDTHS.value):
    config = structure_moons.get_config(
        f'preset={_PRESET.value},width={width},'
        f'replicates={_REPLICATES.value}')
    result = structure_study.study(config, _WORKDIR.value,
                                   figures=_FIGURES.value)
    weights = structure_moons.weight_count(width)
    by_width[width] = [dict(o, weights=weights) for o in result['replicates']]
    print(f'width {width}: {[o["outcome"] for o in result["replicates"]]}',
          flush=True)
  table = structure_study.sweep_table(by_width)
  print(table)
  pathlib.Path(_WORKDIR.value, 'sweep.md').write_text(table + '\n')
  print(provenance.note(_WORKDIR.value, {'widths': _WIDTHS.value,
                                         'replicates': _REPLICATES.value,
                                         'preset': _PRESET.value}))


if __name__ == '__main__':
  cli.run(main)
