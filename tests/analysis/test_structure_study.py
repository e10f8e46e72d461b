"""The structure study end to end on moons + circles (a few steps)."""
import json

import numpy as np
import pytest

from configs import structure_moons
from lth_jax.studies.structure import runner as structure_study
from lth_jax.lottery.experiment import Experiment

pytest.importorskip('networkx')
pytest.importorskip('sklearn')


#: Both tasks are binary (chance 0.5); circles is not linearly separable,
#: so no untrained network of this size reaches the bar on both.
LEARNED = 0.8


def learned(accuracies) -> bool:
  return min(accuracies) >= LEARNED


def test_study_records_every_level_and_per_task_accuracy(tmp_path):
  config = structure_moons.get_config('preset=test,width=10,levels=2,'
                                      'target=60')
  config.unlock()
  config.training.steps = '300it'    # enough to learn both tasks
  config.training.learning_rate = 1e-2
  config.training.eval_every = '100it'
  result = structure_study.study(config, str(tmp_path))
  rows = result['rows']
  assert [r['level'] for r in rows] == [0, 1, 2]
  assert [r['remaining'] for r in rows] == [
      160, round(160 * (60 / 160) ** 0.5), 60]
  for r in rows:
    assert r['active'] + r['inactive'] + r['zombie'] == r['remaining']
  # The networks learn both tasks, dense and pruned ...
  for r in rows[:2]:
    assert learned([r['test_acc_circles'], r['test_acc_moons']]), r
  # ... and the same accuracy read from the untrained init fails the bar.
  exp = Experiment.setup(config, str(tmp_path))
  init = exp.init_variables(0)['params']
  untrained = structure_study.per_task_accuracy(
      exp.model, init, exp.dense_masks(init), exp.dataset.test_images,
      exp.dataset.test_labels, exp.task.multi_label,
      tuple(exp.task.head_sizes) if exp.task.head_sizes else None)
  assert not learned(untrained), untrained
  # Per-task accuracies are each head's, not their mean or the exact match.
  assert rows[0]['test_acc_circles'] != rows[0]['test_acc_moons']
  [outcome] = result['replicates']
  assert outcome['outcome'] in ('separated', 'separated-degraded',
                                'degraded', 'interconnected')
  out = tmp_path / config_hash(config) / 'structure'
  assert json.loads((out / 'levels.json').read_text()) == rows
  for name in ('levels.csv', 'active_vs_remaining.png',
               'subnetworks_r0.png'):
    assert (out / name).stat().st_size > 0
  table = structure_study.level_table(rows, ['circles', 'moons'])
  assert table.count('\n') == 4 and '| 2 | 60 |' in table


def test_per_task_accuracy_of_a_known_model():
  class Identity:
    def apply(self, variables, x, train=False):
      del train
      return x @ variables['params']['w']

  params = {'w': np.eye(2, dtype=np.float32)}
  masks = {'w': np.ones((2, 2), bool)}
  x = np.array([[1., -1.], [1., 1.], [-1., -1.]], np.float32)
  y = np.array([[1., 1.], [1., 1.], [1., 0.]], np.float32)
  acc = structure_study.per_task_accuracy(Identity(), params, masks, x, y,
                                          True, None)
  np.testing.assert_allclose(acc, [2 / 3, 2 / 3])


def config_hash(config):
  from lth_jax import lottery  # pylint: disable=import-outside-toplevel
  return lottery.run_hash(config)
