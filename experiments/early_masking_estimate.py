r"""Scores the a-priori emergence estimate over several early-masking runs.

  python -m experiments.early_masking_estimate \
      --estimates=results/em_lr1.2e-3/<hash>/early_masking/oneshot_estimate.csv,results/em_lr3e-4/<hash>/early_masking/oneshot_estimate.csv \
      --out=results/em_estimate

Each case (run, target, replicate) gives a predicted and a measured
emergence point; the estimate's mean absolute error (timing-grid positions
and steps) is set beside that of the best constant chosen leave-one-out,
with the paired 95 % interval of the difference
(``lth_jax.studies.early_masking.evaluation``). Writes
``<out>/estimate_evaluation.csv`` and prints the tables.
"""
from absl import flags

from experiments import cli
from lth_jax import files
from lth_jax import provenance
from lth_jax.studies.early_masking import estimate_report
from lth_jax.studies.early_masking import report

_ESTIMATES = flags.DEFINE_list('estimates', None, 'oneshot_estimate.csv '
                               'files of early-masking runs.', required=True)
_OUT = flags.DEFINE_string('out', None, 'Output directory.', required=True)


def main(argv):
  del argv
  cases = estimate_report.read_cases(_ESTIMATES.value)
  result = estimate_report.evaluate_cases(cases)
  path = f'{_OUT.value}/estimate_evaluation.csv'
  files.write_csv(path, result['rows'], estimate_report.CASE_COLUMNS)
  print(report.to_markdown(result['rows'], estimate_report.CASE_COLUMNS))
  print()
  print(estimate_report.summary_markdown(result))
  print(f'\ncsv: {path}')
  print(provenance.note(_OUT.value, {'estimates': _ESTIMATES.value}))


if __name__ == '__main__':
  cli.run(main)
