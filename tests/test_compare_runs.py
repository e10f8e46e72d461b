"""experiments.compare_runs tells identical runs from different ones."""
import json

from experiments import compare_runs


def fake_run(root, metrics='{"step": 10}\n'):
  level = root / 'replicate_0' / 'level_0'
  for tree in ('masks', 'trained'):
    (level / tree).mkdir(parents=True)
    (level / tree / 'lth_sha256.json').write_text(
        json.dumps({'sha256': f'{tree}0123456789abcdef'}))
  (level / 'metrics.jsonl').write_text(metrics)
  (level / 'summary.json').write_text('{"level": 0}')
  (root / 'config.json').write_text('{}')
  return root


def test_identical_and_different_runs(tmp_path):
  a = fake_run(tmp_path / 'a')
  same = fake_run(tmp_path / 'b')
  other = fake_run(tmp_path / 'c', metrics='{"step": 11}\n')
  assert compare_runs.compare(a, same) == [
      'replicate_0/level_0 masks masks0123456: identical']
  assert compare_runs.compare(a, other) == [
      'replicate_0/level_0 masks masks0123456: DIFFERS in metrics.jsonl']
