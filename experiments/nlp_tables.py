r"""Tables of a text run: ticket and controls against dense, linear baseline.

  export LTH_DATA_DIR=../shared/data
  NG=configs/text_cnn_newsgroups.py:preset=cpu,replicates=3
  python -m experiments.lottery --config=$NG --workdir=results/nlp
  python -m experiments.branch --config=$NG --workdir=results/nlp \
      --branch=random_reinit           # and --branch=random_prune_layer
  python -m experiments.nlp_tables --config=$NG --workdir=results/nlp

Prints, per metric (accuracy; micro- and macro-F1 on Reuters), each arm's
test metric at early stop, whether it wins by Frankle & Carbin's definition
against the dense network, and ticket - control with its 95 % interval;
then TF-IDF linear classifiers on the same split and labels. Writes
``tables.md`` and ``baseline.json`` under ``<workdir>/<run-hash>/nlp_*``.
"""
from absl import flags
from absl import logging
from ml_collections import config_flags

from experiments import cli
from lth_jax import provenance
from lth_jax.studies.nlp import baseline
from lth_jax.studies.nlp import runner

_CONFIG = config_flags.DEFINE_config_file('config', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, "The trunk's --workdir.",
                               required=True)
_METRICS = flags.DEFINE_list('metrics', [], 'Test metrics (default: acc; '
                             'micro_f1,macro_f1 on Reuters).')
_INPUTS = flags.DEFINE_list('inputs', list(baseline.INPUTS),
                            'Baseline inputs: model_input, full_text.')
_CLASSIFIERS = flags.DEFINE_list('classifiers', ['linear_svc'],
                                 'Baseline classifiers: linear_svc, '
                                 'logistic_regression.')
_BASELINE_ONLY = flags.DEFINE_bool(
    'baseline_only', False, 'Only the linear baselines (no run needed).')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  config = _CONFIG.value
  out = runner.run(config, _WORKDIR.value, _METRICS.value, _INPUTS.value,
                   _CLASSIFIERS.value, verdicts=not _BASELINE_ONLY.value)
  print(out['markdown'])
  print(f"\ntables: {out['dir']}/tables.md")
  print(provenance.note(out['dir'], config))


if __name__ == '__main__':
  cli.run(main)
