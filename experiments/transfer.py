r"""Transfers a finished source trunk's tickets to a target config, then
reports them against the target's own ticket and the controls.

  python -m experiments.transfer --workdir=results/transfer/trunks \
      --config=configs/transfer_lenet300.py:pair=fashion_to_mnist

Both trunks must be finished (``experiments.lottery`` with
``--config=configs/transfer_lenet300.py:pair=<pair>,side=source`` and
``side=target``, same ``--workdir``). Outputs go to the target run under
``--target_workdir`` (default ``--workdir``): branches
``transfer_<source-hash>[_reinit|_random]``; the report (``results.csv``,
``accuracy.png``) to ``--out`` (default ``<target-run>/transfer_<source-hash>
_report``). The source trunk is only read. ``--report_only`` reports what
has finished without training.
"""
from absl import flags
from absl import logging
from ml_collections import config_flags

from experiments import cli
from lth_jax import provenance
from lth_jax.studies.transfer import report as transfer_report
from lth_jax.studies.transfer import runner as transfer

_CONFIG = config_flags.DEFINE_config_file('config', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Workdir of both trunks.',
                               required=True)
_TARGET_WORKDIR = flags.DEFINE_string(
    'target_workdir', None, 'Where the transfer outputs go (default: '
    '--workdir, into the target run).')
_OUT = flags.DEFINE_string('out', None, 'Report directory.')
_REPORT_ONLY = flags.DEFINE_bool('report_only', False, 'Only report the '
                                 'levels finished so far; train nothing.')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
  config = _CONFIG.value
  out_workdir = _TARGET_WORKDIR.value or _WORKDIR.value
  if not _REPORT_ONLY.value:
    transfer.run(config, _WORKDIR.value, out_workdir)
  report = transfer_report.pair_report(config, _WORKDIR.value, out_workdir,
                                       _OUT.value)
  print(report['markdown'])
  print(f"\ntable: {report['csv']}\nplot:  {report['accuracy_png']}")
  print(provenance.note(report['csv'].parent, config))


if __name__ == '__main__':
  cli.run(main)
