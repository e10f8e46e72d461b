"""The landscape study end to end on a tiny data set: one fixed rate and
one landscape rule, 2 levels each."""
import pathlib

import numpy as np
import pytest

from configs import landscape_lenet300_mnist
from lth_jax import errors
from lth_jax.lottery import strategies
from lth_jax.lottery.experiment import Experiment
from lth_jax.studies.landscape import measure
from lth_jax.studies.landscape import report
from lth_jax.studies.landscape import runner
from lth_jax.studies.landscape import schedule
from lth_jax.studies.landscape import variants

from conftest import tiny_dataset


def snapshot(root: pathlib.Path) -> dict[str, float]:
  return {str(p): p.stat().st_mtime_ns for p in root.rglob('*')}


@pytest.fixture(scope='module')
def study(tmp_path_factory):
  config = landscape_lenet300_mnist.get_config('preset=test,replicates=2')
  config.unlock()
  config.trunk.model = 'mlp'   # a small MLP: fast compiles
  config.trunk.model_kwargs.hidden = (16, 8)
  config.landscape.max_levels = 1
  config.landscape.rates = (0.8,)   # one variant, without controls
  config.landscape.rules = ('measured',)
  config.lock()
  root = tmp_path_factory.mktemp('landscape')
  data = tiny_dataset()
  rows = runner.run(config, str(root / 'trunks'), str(root / 'study'),
                    dataset=data, log=lambda line: None)
  return config, root, data, rows


def test_rows_cover_every_level_and_replicate(study):
  config, _, _, rows = study
  s = config.landscape
  assert [r['variant'] for r in rows] == (
      ['rate_80'] * 4 + ['rule_measured'] * 4)
  for r in rows:
    assert r['lambda_max'] > 0 and r['trace'] > 0
    assert np.all(np.diff(r['top_eigenvalues']) <= 0)
    assert 0 <= r['max_fraction_predicted'] < 1
    assert 0 <= r['max_fraction_measured'] < 1
    last = r['level'] == s.max_levels
    assert ('barrier_next' in r) != last
    assert ('barrier_dense' in r) == (r['level'] > 0)
    assert 'barrier_next_random_reinit' not in r
    nodes, weights = (np.asarray(r[k]) for k in ('density_nodes',
                                                  'density_weights'))
    assert nodes.shape == weights.shape == (1, s.lanczos_iterations)
    np.testing.assert_allclose(weights.sum(-1), 1, rtol=1e-4)
  # Hidden layers keep 1 - rate of their weights (output at half rate).
  level1 = [r['weights_remaining'] for r in rows if r['level'] == 1
            and r['variant'] == 'rate_80']
  assert all(0.2 < w < 0.25 for w in level1)


def rule_experiment(config, root, data):
  rule = [v for v in variants.variants(config) if v.rule][0]
  return Experiment.setup(rule.config, str(root / 'trunks'), data)


def test_the_rule_trunk_prunes_the_fraction_it_chose(study):
  config, root, data, rows = study
  exp = rule_experiment(config, root, data)
  level0 = sorted((r for r in rows if r['variant'] == 'rule_measured'
                   and r['level'] == 0), key=lambda r: r['replicate'])
  for r in level0:
    f = r['max_fraction_measured']
    layers = runner.level_summary(exp, r['replicate'], 1)['layers']
    # The hidden layers lose f of their weights, the output layer f / 2;
    # a fixed-rate trunk (rate_80: 0.2 kept) would not match.
    assert layers['hidden_0/kernel'] == pytest.approx(1 - f, abs=0.01)
    assert layers['output/kernel'] == pytest.approx(1 - f / 2, abs=0.02)
    assert abs(layers['hidden_0/kernel'] - 0.2) > 0.05
  # Its level 0 is the fixed-rate trunk's (same seeds).
  fixed = [r['test_acc'] for r in rows if r['variant'] == 'rate_80'
           and r['level'] == 0]
  assert [r['test_acc'] for r in level0] == fixed


def test_the_predicted_rule_is_the_studys_prediction(study):
  config, root, data, rows = study
  exp = rule_experiment(config, root, data)
  s = config.landscape
  sol = measure.load_solutions(exp, [0])[0]
  got = schedule.choose(
      exp, 0, sol, measure.study_data(exp, s.hessian_examples,
                                      s.hessian_batch_size, s.eval_examples),
      measure.spec_from_config(s), 'predicted')
  want = [r['max_fraction_predicted'] for r in rows
          if r['variant'] == 'rule_measured' and r['level'] == 0]
  assert got == want
  assert got != [r['max_fraction_measured'] for r in rows
                 if r['variant'] == 'rule_measured' and r['level'] == 0]


def test_a_rule_strategy_never_prunes_without_its_landscape():
  with pytest.raises(errors.RunStateError, match='ensure_trained'):
    strategies.get_strategy('landscape_measured')(None, None, None, 2)
  with pytest.raises(errors.ConfigError, match='predicted, measured'):
    schedule.strategy_name('magnitude')


def test_variants_of_the_test_preset():
  config = landscape_lenet300_mnist.get_config('preset=test')
  got = variants.variants(config)
  assert [(v.name, v.controls, v.config.pruning.levels) for v in got] == [
      ('rate_20', ('random_reinit',), 2), ('rate_80', (), 2),
      ('rule_predicted', (), 2), ('rule_measured', (), 2)]
  assert got[3].config.pruning.strategy == 'landscape_measured'
  assert got[1].config.pruning.layer_rates == 'output/=0.4'
  cpu = variants.variants(landscape_lenet300_mnist.get_config('preset=cpu'))
  assert [v.name for v in cpu][-3] == 'rate_20_lr_x10'
  assert cpu[-3].config.training.learning_rate == pytest.approx(1.2e-2)
  assert len({variants.run_dir(v, '/w') for v in cpu}) == len(cpu)
  with pytest.raises(ValueError, match='branch'):
    variants.make_variant(config.trunk, 0.2, 0.01, 2, controls=('nope',))


def test_a_second_run_reads_and_never_writes_the_trunks(study):
  config, root, data, rows = study
  before = snapshot(root / 'trunks')
  again = runner.run(config, str(root / 'trunks'), str(root / 'study'),
                     dataset=data, log=lambda line: None)
  assert snapshot(root / 'trunks') == before
  assert again == rows
  with pytest.raises(ValueError, match='must differ'):
    runner.run(config, str(root / 'trunks'), str(root / 'trunks'),
               dataset=data)


def test_report_tables_and_figures(study, tmp_path):
  config, _, _, rows = study
  out = report.write_report(rows, config.landscape.barrier_threshold,
                            tmp_path, reference='rate_80')
  assert [v['variant'] for v in out['variants']] == ['rate_80',
                                                     'rule_measured']
  assert 'reinit_barrier_pct' not in out['variants'][0]
  # Two replicates: no verdict, whatever the means say.
  assert out['variants'][0]['verdict'] == 'insufficient replicates'
  rules = out['rules']
  assert [r['level'] for r in rules] == [0, 1]
  assert rules[0]['test_acc_diff'] == 0   # the same dense network
  assert rules[1]['test_acc_verdict'] == 'insufficient replicates'
  assert rules[1]['ref_weights_remaining'] == pytest.approx(np.mean(
      [100 * r['weights_remaining'] for r in rows
       if r['variant'] == 'rate_80' and r['level'] == 1]))
  for name in ('cells.csv', 'variants.csv', 'rules.csv', 'landscape.md',
               'barrier_vs_rate.png', 'top_eigenvalue_vs_level.png',
               'predicted_vs_measured.png', 'accuracy_vs_weights.png',
               'spectral_density.png'):
    assert (tmp_path / name).stat().st_size > 0
  assert report.connectivity([0.001, 0.002, 0.003], 0.02) == 'connected'
  assert report.connectivity([0.04, 0.05, 0.045], 0.02) == 'not connected'
  assert report.connectivity([0.01, 0.03, 0.05], 0.02) == 'undecided'
