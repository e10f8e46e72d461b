"""Reports: tables, figures and the launcher, on hand-written summaries."""
import csv
import os
import pathlib
import subprocess
import sys

import pytest

from lth_jax.analysis import plots
from lth_jax.analysis import report
from lth_jax.analysis import tables
from lth_jax.runs import storage

REPO = pathlib.Path(__file__).resolve().parents[2]
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def write_run(run_dir, model='lenet300_100', replicates=3, levels=3,
              branches=('random_reinit',)):
  """A run directory with ``summary.json`` files and nothing else.

  Accuracy of (branch, level L, replicate r): trunk 0.97 + 0.001 L + 0.002 r,
  controls 0.01 L lower; early-stop step 1000 - 100 L + 10 r.
  """
  run_dir = pathlib.Path(run_dir)
  storage.write_json(run_dir / 'config.json', {'model': model})
  for r in range(replicates):
    for name in ('trunk',) + tuple(branches):
      for level in range(levels + 1):
        if name != 'trunk' and level == 0:
          continue
        acc = 0.97 + 0.001 * level + 0.002 * r - (
            0.01 * level if name != 'trunk' else 0)
        storage.write_json(
            storage.level_dir(run_dir, r, level,
                              None if name == 'trunk' else name)
            / 'summary.json',
            {'level': level, 'replicate': r, 'branch': name,
             'weights_remaining': 0.8 ** level,
             'early_stop_step': 1000 - 100 * level + 10 * r,
             'early_stop_test_acc': acc, 'final_test_acc': acc - 0.001})
  return run_dir


def test_single_run_csv_has_mean_min_max_over_replicates(tmp_path):
  run = write_run(tmp_path / 'work' / 'abc123')
  out = report.write_report([run], tmp_path / 'out', title='LeNet')
  with open(out['csv']) as f:
    rows = list(csv.DictReader(f))
  assert [(r['branch'], r['level']) for r in rows] == [
      ('trunk', '0'), ('trunk', '1'), ('trunk', '2'), ('trunk', '3'),
      ('random_reinit', '1'), ('random_reinit', '2'),
      ('random_reinit', '3')]
  trunk2 = rows[2]
  assert trunk2['run'] == '' and trunk2['replicates'] == '3'
  assert float(trunk2['weights_remaining_pct']) == pytest.approx(64.0)
  assert float(trunk2['early_stop_test_acc_mean']) == pytest.approx(97.4)
  assert float(trunk2['early_stop_test_acc_min']) == pytest.approx(97.2)
  assert float(trunk2['early_stop_test_acc_max']) == pytest.approx(97.6)
  assert float(trunk2['early_stop_step_mean']) == pytest.approx(810)
  assert float(trunk2['early_stop_step_max']) == pytest.approx(820)
  reinit3 = rows[-1]
  assert float(reinit3['early_stop_test_acc_mean']) == pytest.approx(94.5)
  for key in ('accuracy_png', 'early_stop_png'):
    data = pathlib.Path(out[key]).read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000


def test_accuracy_figure_draws_trunk_and_controls_on_a_reversed_log_axis(
    tmp_path, monkeypatch):
  rows = tables.aggregate(storage.run_summaries(write_run(tmp_path / 'r')))
  figures = []
  monkeypatch.setattr(plots.plt, 'close', figures.append)
  plots.plot_accuracy(rows, tmp_path / 'a.png')
  (ax,) = figures[0].axes
  assert ax.get_xscale() == 'log'
  left, right = ax.get_xlim()
  assert left > 100 and right < 51.2  # 100 % on the left, 51.2 % right
  lines = {l.get_label(): l for l in ax.get_lines()}
  assert set(lines) == {'trunk', 'random_reinit', 'dense'}
  assert list(lines['trunk'].get_ydata()) == pytest.approx(
      [97.2, 97.3, 97.4, 97.5])
  assert lines['random_reinit'].get_linestyle() == '--'
  assert list(lines['dense'].get_ydata()) == pytest.approx([97.2, 97.2])
  assert len(ax.collections) == 2  # one min/max band per curve
  assert [t.get_text() for t in ax.get_xticklabels()] == [
      '100', '80', '64', '51.2']


def test_workdir_with_several_runs_labels_them(tmp_path):
  work = tmp_path / 'work'
  write_run(work / 'aaa', model='lenet300_100', branches=())
  write_run(work / 'bbb', model='conv2', levels=1)
  (work / 'not_a_run').mkdir()
  assert [r.name for r in storage.find_runs([work])] == ['aaa', 'bbb']
  out = report.write_report([work], tmp_path / 'out')
  assert {r['run'] for r in out['rows']} == {'lenet300_100 aaa', 'conv2 bbb'}
  assert set(plots.curves(out['rows'])) == {
      'lenet300_100 aaa trunk', 'conv2 bbb trunk', 'conv2 bbb random_reinit'}
  text = tables.comparison_markdown(out['rows'])
  assert 'lenet300_100 aaa:' in text and 'conv2 bbb:' in text


def test_comparison_table_pairs_levels_and_marks_missing_ones(tmp_path):
  run = write_run(tmp_path / 'r', replicates=2, levels=2)
  (storage.level_dir(run, 0, 2, 'random_reinit') / 'summary.json').unlink()
  (storage.level_dir(run, 1, 2, 'random_reinit') / 'summary.json').unlink()
  rows = tables.aggregate(storage.run_summaries(run))
  lines = tables.comparison_markdown(rows).splitlines()
  assert lines[0] == ('| weights % | trunk acc (min-max) | trunk stop | '
                      'random_reinit acc (min-max) | random_reinit stop |')
  assert lines[2] == '| 100.0 | 97.10 (97.00-97.20) | 1005 | - | - |'
  assert lines[3] == ('| 80.0 | 97.20 (97.10-97.30) | 905 | '
                      '96.20 (96.10-96.30) | 905 |')
  assert lines[4].endswith('| - | - |')


def test_missing_or_empty_runs_are_clear_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match='is not a directory'):
    storage.find_runs([tmp_path / 'nope'])
  with pytest.raises(FileNotFoundError, match='no lottery run under'):
    storage.find_runs([tmp_path])
  storage.write_json(tmp_path / 'r' / 'config.json', {'model': 'mlp'})
  with pytest.raises(ValueError, match='no finished levels'):
    report.write_report([tmp_path / 'r'], tmp_path / 'out')


def run_launcher(*args):
  env = dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS='cpu')
  return subprocess.run([sys.executable, '-m', 'experiments.report', *args],
                        cwd=REPO, env=env, capture_output=True, text=True,
                        timeout=300, check=False)


def test_launcher_writes_the_report_and_prints_the_table(tmp_path):
  write_run(tmp_path / 'work' / 'abc123')
  done = run_launcher(f'--workdirs={tmp_path / "work"}',
                      f'--out={tmp_path / "out"}')
  assert done.returncode == 0, done.stderr
  assert '| 51.2 | 97.50 (97.30-97.70) | 710 |' in done.stdout
  assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [
      'accuracy.png', 'early_stop.png', 'provenance.json', 'results.csv']
  assert '| 51.2 |' in done.stdout.split('Winning tickets')[1]
  bad = run_launcher(f'--workdirs={tmp_path / "missing"}')
  assert bad.returncode == 2
  assert bad.stderr.strip().splitlines()[-1].startswith(
      'error: MissingInputError:')
