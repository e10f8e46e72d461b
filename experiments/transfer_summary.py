r"""The reports of several transfer pairs in one process: per pair its
table, ``results.csv`` and figure; then one table of every pair at chosen
levels (the README's).

  python -m experiments.transfer_summary --workdir=results/transfer/trunks \
      --target_workdir=results/transfer/out --out=results/transfer/report \
      --pairs=mnist_to_fashion,fashion_to_mnist,adam_to_sgd,sgd_to_adam \
      --levels=15 --figures=docs/figures

``--config_file``: the transfer config file whose ``pair=`` options the
pairs are (default ``configs/transfer_lenet300.py``); ``--options``: more
options for it (e.g. ``replicates=2``). Pairs with nothing finished yet are
listed as such. ``--figures``: also copy each figure there as
``transfer_<pair>.png``.
"""
import importlib
import pathlib
import shutil

from absl import flags

from experiments import cli
from lth_jax import errors
from lth_jax import provenance
from lth_jax.studies.transfer import report as transfer_report

_WORKDIR = flags.DEFINE_string('workdir', None, 'Workdir of the trunks.',
                               required=True)
_TARGET_WORKDIR = flags.DEFINE_string(
    'target_workdir', None, 'Where the transfer outputs are (default: '
    '--workdir).')
_OUT = flags.DEFINE_string('out', None, 'Report directory (one folder per '
                           'pair).', required=True)
_PAIRS = flags.DEFINE_list('pairs', None, 'Pairs to report.', required=True)
_LEVELS = flags.DEFINE_list('levels', ['15'], 'Levels of the summary table.')
_CONFIG_FILE = flags.DEFINE_string(
    'config_file', 'configs/transfer_lenet300.py', 'Transfer config file.')
_OPTIONS = flags.DEFINE_string('options', '', 'More get_config options.')
_FIGURES = flags.DEFINE_string('figures', None, 'Also copy the figures here.')


def config_module(path: str):
  """The module of a config file given as ``configs/<name>.py``."""
  p = pathlib.PurePosixPath(path)
  if p.suffix != '.py':
    raise errors.ConfigError(f'--config_file={path!r} is not a .py config file '
                     '(e.g. configs/transfer_lenet300.py).')
  return importlib.import_module('.'.join(p.with_suffix('').parts))


def main(argv):
  del argv
  module = config_module(_CONFIG_FILE.value)
  levels = [int(x) for x in _LEVELS.value]
  out_workdir = _TARGET_WORKDIR.value or _WORKDIR.value
  rows_by_pair = {}
  for pair in _PAIRS.value:
    options = ','.join(filter(None, [f'pair={pair}', _OPTIONS.value]))
    config = module.get_config(options)
    try:
      report = transfer_report.pair_report(
          config, _WORKDIR.value, out_workdir, pathlib.Path(_OUT.value) / pair)
    except transfer_report.NothingFinished as e:
      print(f'##### {pair}\n{e}\n')
      continue
    rows_by_pair[pair] = report['rows']
    print(f'##### {pair}\n{report["markdown"]}\n')
    if _FIGURES.value:
      figures = pathlib.Path(_FIGURES.value)
      figures.mkdir(parents=True, exist_ok=True)
      shutil.copyfile(report['accuracy_png'], figures / f'transfer_{pair}.png')
  print(transfer_report.pairs_markdown(rows_by_pair, levels))
  print(provenance.note(_OUT.value, {'pairs': _PAIRS.value,
                                     'options': _OPTIONS.value}))


if __name__ == '__main__':
  cli.run(main)
