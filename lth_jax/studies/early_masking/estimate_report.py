"""The emergence estimate evaluated over the cases of several runs.

Reads the ``oneshot_estimate.csv`` of early-masking runs (one per learning
rate, say; ``report.write_report`` writes them), turns each (run, target,
replicate) into a case, and scores the a-priori estimate against the
leave-one-out constant (``evaluation.evaluate``), in timing-grid positions
and in steps. A case without a measured point (its last timing point does
not win) is dropped and counted; a case without a prediction (the mask
change never flattens) is predicted at the last timing point.
"""
import csv
import pathlib
from typing import Any, Sequence

from lth_jax import errors
from lth_jax.studies.early_masking import evaluation

CASE_COLUMNS = ['learning_rate', 'weights_remaining_pct', 'replicate',
                'predicted', 'measured', 'predicted_pos', 'measured_pos',
                'constant_pos', 'estimate_error_pos', 'constant_error_pos',
                'constant_step', 'estimate_error_steps',
                'constant_error_steps']


def _int(v: str) -> int | None:
  return None if v in ('', 'None') else int(float(v))


def read_cases(paths: Sequence[str | pathlib.Path]) -> list[dict[str, Any]]:
  """The cases of the estimate CSVs, in file and row order."""
  cases = []
  for path in paths:
    path = pathlib.Path(path)
    if not path.exists():
      raise errors.MissingInputError(
          f'{path} does not exist: run experiments.early_masking (one-shot) '
          'first; it writes oneshot_estimate.csv.')
    with path.open(newline='') as f:
      for row in csv.DictReader(f):
        if 'timing_points' not in row:
          raise errors.InputError(
              f'{path} has no timing_points column: rewrite it with '
              'experiments.early_masking --report_only.')
        grid = sorted({int(s) for s in row['timing_points'].split()})
        predicted = _int(row['predicted'])
        cases.append({
            'source': str(path), 'learning_rate': float(row['learning_rate']),
            'weights_remaining_pct': float(row['weights_remaining_pct']),
            'replicate': int(row['replicate']), 'grid': grid,
            'predicted': grid[-1] if predicted is None else predicted,
            'measured': _int(row['measured'])})
  return cases


def evaluate_cases(cases: list[dict[str, Any]]) -> dict[str, Any]:
  """Scores the estimate over the cases with a measured point.

  Returns:
    ``{'rows': per case, 'positions': Evaluation, 'steps': Evaluation,
    'dropped': cases without a measured point}``.
  """
  kept = [c for c in cases if c['measured'] is not None]
  pos = {k: [evaluation.grid_positions([c[k]], c['grid'])[0] for c in kept]
         for k in ('predicted', 'measured')}
  by_pos = evaluation.evaluate(pos['predicted'], pos['measured'])
  by_step = evaluation.evaluate([c['predicted'] for c in kept],
                                [c['measured'] for c in kept])
  rows = []
  for i, c in enumerate(kept):
    rows.append({
        **{k: c[k] for k in CASE_COLUMNS[:5]},
        'predicted_pos': pos['predicted'][i],
        'measured_pos': pos['measured'][i],
        'constant_pos': by_pos.constant_predictions[i],
        'estimate_error_pos': by_pos.estimate_errors[i],
        'constant_error_pos': by_pos.constant_errors[i],
        'constant_step': by_step.constant_predictions[i],
        'estimate_error_steps': by_step.estimate_errors[i],
        'constant_error_steps': by_step.constant_errors[i]})
  return {'rows': rows, 'positions': by_pos, 'steps': by_step,
          'dropped': [c for c in cases if c['measured'] is None]}


def summary_markdown(result: dict[str, Any]) -> str:
  """The error table: estimate against the leave-one-out constant."""
  lines = ['| unit | cases | estimate exact | estimate MAE | constant MAE '
           '(leave-one-out) | constant - estimate error | useful |',
           '|---|---|---|---|---|---|---|']
  for unit in ('positions', 'steps'):
    e = result[unit]
    lines.append(
        f'| {unit} | {len(e.estimate_errors)} | {e.exact} | '
        f'{e.estimate_mae:.2f} | {e.constant_mae:.2f} | {e.comparison} | '
        f'{"yes" if e.useful else "no"} |')
  lines.append(f'\ndropped (no measured emergence): '
               f'{len(result["dropped"])}')
  return '\n'.join(lines)
