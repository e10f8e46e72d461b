"""The landscape study end to end on a tiny data set (2 rates, 2 levels)."""
import pathlib

import numpy as np
import pytest

from configs import landscape_lenet300_mnist
from lth_jax.studies.landscape import report
from lth_jax.studies.landscape import runner
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
  config.lock()
  root = tmp_path_factory.mktemp('landscape')
  data = tiny_dataset()
  rows = runner.run(config, str(root / 'trunks'), str(root / 'study'),
                    dataset=data, log=lambda line: None)
  return config, root, data, rows


def test_rows_cover_every_level_and_replicate(study):
  config, _, _, rows = study
  s = config.landscape
  assert len(rows) == (s.max_levels + 1) * 2
  for r in rows:
    assert r['lambda_max'] > 0 and r['trace'] > 0
    assert np.all(np.diff(r['top_eigenvalues']) <= 0)
    assert 0 <= r['max_fraction_predicted'] < 1
    assert 0 <= r['max_fraction_measured'] < 1
    last = r['level'] == s.max_levels
    assert ('barrier_next' in r) != last
    assert ('barrier_dense' in r) == (r['level'] > 0)
    assert 'barrier_next_random_reinit' not in r
  # Hidden layers keep 1 - rate of their weights (output at half rate).
  level1 = [r['weights_remaining'] for r in rows if r['level'] == 1]
  assert all(0.2 < w < 0.25 for w in level1)


def test_variants_of_the_test_preset():
  config = landscape_lenet300_mnist.get_config('preset=test')
  got = variants.variants(config)
  assert [(v.name, v.controls, v.config.pruning.levels) for v in got] == [
      ('rate_20', ('random_reinit',), 2), ('rate_80', (), 2)]
  assert got[1].config.pruning.layer_rates == 'output/=0.4'
  cpu = variants.variants(landscape_lenet300_mnist.get_config('preset=cpu'))
  assert [v.name for v in cpu][-1] == 'rate_20_lr_x10'
  assert cpu[-1].config.training.learning_rate == pytest.approx(1.2e-2)
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
                            tmp_path)
  assert [v['variant'] for v in out['variants']] == ['rate_80']
  assert 'reinit_barrier_pct' not in out['variants'][0]
  for name in ('cells.csv', 'variants.csv', 'landscape.md',
               'barrier_vs_rate.png', 'top_eigenvalue_vs_level.png',
               'predicted_vs_measured.png'):
    assert (tmp_path / name).stat().st_size > 0
  assert report.verdict(0.001, 0.01, 0.02) == 'connected'
  assert report.verdict(0.03, 0.05, 0.02) == 'not connected'
  assert report.verdict(0.01, 0.05, 0.02) == 'undecided'
