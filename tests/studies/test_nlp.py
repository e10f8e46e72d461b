"""The NLP study's tables: linear baselines and verdicts against dense."""
import numpy as np
import pytest
from scipy import sparse

from lth_jax import errors
from lth_jax.studies.nlp import baseline
from lth_jax.studies.nlp import report


def test_bag_of_ids_counts_every_id_and_drops_reserved_ones():
  ids = np.random.default_rng(0).integers(0, 12, (7, 9))
  want = np.zeros((7, 12))
  for row, doc in enumerate(ids):
    for i in doc:
      if i >= 2:               # 0 pads, 1 is unknown
        want[row, i] += 1
  assert np.array_equal(baseline.bag_of_ids(ids, 12).toarray(), want)


def _splits(shuffle: bool, multi_label: bool) -> baseline.Splits:
  """Documents of one informative word per class (plus noise words)."""
  rng = np.random.default_rng(1)
  out = []
  for n in (120, 40, 60):
    y = rng.integers(0, 4, n)
    x = rng.random((n, 20)) * 0.3
    x[np.arange(n), y] += 1.0
    if shuffle:
      y = rng.permutation(y)
    out.append((sparse.csr_matrix(x),
                np.eye(4, dtype=np.float32)[y] if multi_label else y))
  return baseline.Splits(*out, multi_label=multi_label)


@pytest.mark.parametrize('multi_label', [False, True])
def test_baseline_learns_words_and_not_shuffled_labels(multi_label):
  learned = baseline.fit(_splits(False, multi_label), 'linear_svc')
  assert learned['test']['micro_f1'] > 0.95
  assert learned['C'] in baseline.C_GRID
  # Negative case: labels unrelated to the words score near chance (1/4).
  chance = baseline.fit(_splits(True, multi_label), 'linear_svc')
  assert chance['test']['micro_f1'] < 0.5
  assert ('acc' in learned['test']) is not multi_label


def test_baseline_names_unknown_choices():
  with pytest.raises(errors.ConfigError, match='known: linear_svc'):
    baseline.classifier('svm', 1.0, False)
  with pytest.raises(errors.ConfigError, match='newsgroups20'):
    baseline.documents(type('D', (), {'name': 'mnist', 'text': None})())


def _row(branch, level, values, stops):
  v = list(values)
  return {'run': '', 'branch': branch, 'level': level,
          'weights_remaining_pct': 100.0 / 2 ** level,
          'replicates': len(v), 'replicate_ids': list(range(len(v))),
          'early_stop_test_acc_values': v,
          'early_stop_step_values': [float(s) for s in stops],
          'early_stop_test_acc_mean': float(np.mean(v)),
          'early_stop_test_acc_min': min(v), 'early_stop_test_acc_max': max(v),
          'early_stop_step_mean': float(np.mean(stops))}


def test_verdicts_judge_every_arm_against_dense_and_the_ticket():
  dense = _row('trunk', 0, [70.0, 71.0, 72.5], [400, 400, 480])
  ticket = _row('trunk', 1, [70.6, 71.4, 72.9], [320, 400, 400])
  late = _row('trunk', 2, [70.6, 71.4, 72.9], [513, 513, 513])
  reinit = _row('random_reinit', 1, [70.5, 71.5, 72.8], [320, 400, 400])
  prune = _row('random_prune_layer', 1, [60.0, 61.0, 62.0], [513, 513, 513])
  recs = report.verdict_rows([dense, ticket, late, reinit, prune])
  got = {(r['arm'], r['row']['level']): r for r in recs}
  assert got[('trunk', 0)]['win'] is None
  assert got[('trunk', 1)]['win'].wins is True
  # Same accuracy but more iterations than dense: not a winning ticket.
  assert got[('trunk', 2)]['win'].wins is False
  assert got[('random_prune_layer', 1)]['win'].wins is False
  assert got[('random_prune_layer', 1)]['vs_ticket'].verdict == 'better'
  # A control as good as the ticket is not called worse than it.
  assert got[('random_reinit', 1)]['vs_ticket'].verdict == 'indistinguishable'
  assert got[('random_reinit', 1)]['win'].wins is True
  table = report.verdict_markdown(recs, 'macro_f1')
  assert 'test macro_F1' in table and table.count('\n') == 6


def test_verdicts_need_three_replicates_and_a_dense_level():
  dense = _row('trunk', 0, [70.0, 71.0], [400, 400])
  ticket = _row('trunk', 1, [75.0, 76.0], [300, 300])
  win = report.verdict_rows([dense, ticket])[1]['win']
  assert win.wins is None and 'insufficient' in str(win)
  with pytest.raises(errors.MissingInputError, match='level 0'):
    report.verdict_rows([ticket])
