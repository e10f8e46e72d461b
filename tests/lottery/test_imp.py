"""The IMP driver: layout, determinism, resumption, masks from trained weights."""
import json
import pathlib
import shutil

import jax
import numpy as np
import pytest

from lth_jax import lottery
from lth_jax import pruning
from lth_jax.lottery import imp
from lth_jax.runs import storage
from lth_jax.training import checkpoints

from conftest import tiny_config
from conftest import tiny_dataset


def run_dir(workdir, config):
  return pathlib.Path(workdir) / lottery.run_hash(config)


def level_files(rdir, replicate=0, levels=3):
  """Everything a run wrote that must be reproducible, as bytes/arrays."""
  out = {}
  for level in range(levels):
    d = storage.level_dir(rdir, replicate, level)
    out[f'{level}/metrics'] = (d / 'metrics.jsonl').read_text()
    out[f'{level}/summary'] = (d / 'summary.json').read_text()
    for name in ('masks', 'trained'):
      tree = storage.load_tree(d / name)
      out[f'{level}/{name}'] = [np.asarray(x) for x in jax.tree.leaves(tree)]
  return out


def assert_same(a, b):
  assert a.keys() == b.keys()
  for k in a:
    if isinstance(a[k], str):
      assert a[k] == b[k], k
    else:
      for x, y in zip(a[k], b[k]):
        np.testing.assert_array_equal(x, y, err_msg=k)


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
  workdir = tmp_path_factory.mktemp('ref')
  config = tiny_config()
  summaries = lottery.run(config, str(workdir), dataset=tiny_dataset())
  return config, run_dir(workdir, config), summaries


def test_layout_and_summaries(reference):
  config, rdir, summaries = reference
  assert [s['level'] for s in summaries] == [0, 1, 2]
  assert json.loads((rdir / 'config.json').read_text())['pruning.levels'] == 2
  for level in range(3):
    d = storage.level_dir(rdir, 0, level)
    assert (d / 'summary.json').exists() and not (d / 'checkpoints').exists()
    rows = storage.read_jsonl(d / 'metrics.jsonl')
    assert [r['step'] for r in rows] == [0, 20, 40]
  assert (rdir / 'replicate_0' / 'init').is_dir()
  fractions = [s['weights_remaining'] for s in summaries]
  assert fractions[0] == 1.0 and fractions[1] < 0.81 and fractions[2] < 0.65
  assert summaries[2]['layers']['output/kernel'] == pytest.approx(
      round(0.81 * 1000) / 1000)


def test_masks_come_from_the_previous_levels_trained_weights(reference):
  _, rdir, _ = reference
  level0 = storage.level_dir(rdir, 0, 0)
  trained = storage.load_tree(level0 / 'trained')['params']
  m0 = storage.load_tree(level0 / 'masks')
  m1 = storage.load_tree(storage.level_dir(rdir, 0, 1) / 'masks')
  expected = pruning.prune_layerwise(trained, m0, {'output/': 0.1, '.*': 0.2},
                                     level=1)
  for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(m1)):
    np.testing.assert_array_equal(a, b)
  init = storage.load_tree(rdir / 'replicate_0' / 'init')['params']
  from_init = pruning.prune_layerwise(init, m0, {'output/': 0.1, '.*': 0.2},
                                      level=1)
  assert pruning.hamming_distance(from_init, m1) > 0.05


def test_level_starts_from_init_under_mask(reference):
  _, rdir, _ = reference
  init = storage.load_tree(rdir / 'replicate_0' / 'init')['params']
  masks = storage.load_tree(storage.level_dir(rdir, 0, 2) / 'masks')
  trained = storage.load_tree(storage.level_dir(rdir, 0, 2) / 'trained')
  k = np.asarray(trained['params']['hidden_0']['kernel'])
  m = np.asarray(masks['hidden_0']['kernel'])
  assert (k[~m] == 0).all()
  assert np.abs(k[m] - np.asarray(init['hidden_0']['kernel'])[m]).max() > 0


def test_same_config_same_results(reference, tmp_path):
  config, rdir, _ = reference
  lottery.run(config, str(tmp_path), dataset=tiny_dataset())
  assert_same(level_files(rdir), level_files(run_dir(tmp_path, config)))


def test_resume_between_levels(reference, tmp_path):
  config, rdir, _ = reference
  shutil.copytree(rdir, run_dir(tmp_path, config))
  mine = run_dir(tmp_path, config)
  shutil.rmtree(storage.level_dir(mine, 0, 2))
  shutil.rmtree(storage.level_dir(mine, 0, 1))
  lottery.run(config, str(tmp_path), dataset=tiny_dataset())
  assert_same(level_files(rdir), level_files(mine))


class Killed(Exception):
  pass


def test_resume_within_a_level(reference, tmp_path, monkeypatch):
  config, rdir, _ = reference
  real_save = checkpoints.save_checkpoint
  calls = []

  def save_then_die(*args, **kwargs):
    real_save(*args, **kwargs)
    calls.append(1)
    if len(calls) == 2:  # level 1, after its step-20 checkpoint
      raise Killed()

  monkeypatch.setattr(checkpoints, 'save_checkpoint', save_then_die)
  with pytest.raises(Killed):
    lottery.run(config, str(tmp_path), dataset=tiny_dataset())
  mine = run_dir(tmp_path, config)
  assert (storage.level_dir(mine, 0, 1) / 'checkpoints' / 'step_20').is_dir()
  assert not (storage.level_dir(mine, 0, 1) / 'summary.json').exists()
  monkeypatch.setattr(checkpoints, 'save_checkpoint', real_save)
  lottery.run(config, str(tmp_path), dataset=tiny_dataset())
  assert_same(level_files(rdir), level_files(mine))


def test_finished_levels_are_skipped(reference, tmp_path, monkeypatch):
  config, rdir, _ = reference
  shutil.copytree(rdir, run_dir(tmp_path, config))
  monkeypatch.setattr(imp.jobs_lib, 'train',
                      lambda *a, **k: pytest.fail('retrained a done level'))
  summaries = lottery.run(config, str(tmp_path), dataset=tiny_dataset())
  assert len(summaries) == 3


def test_a_finished_run_extends_to_more_levels(reference, tmp_path):
  config, rdir, _ = reference
  shorter = tiny_config(levels=1)
  assert lottery.run_hash(shorter) == lottery.run_hash(config)
  lottery.run(shorter, str(tmp_path), dataset=tiny_dataset())
  mine = run_dir(tmp_path, shorter)
  assert not storage.level_dir(mine, 0, 2).exists()
  lottery.run(config, str(tmp_path), dataset=tiny_dataset())
  assert_same(level_files(rdir), level_files(mine))
  assert json.loads((mine / 'config.json').read_text())['pruning.levels'] == 2


def test_run_hash_ignores_execution_fields():
  a = tiny_config()
  b = tiny_config(replicates=3, checkpoint_every='7it')
  b.sweep.strategy = 'vmap'
  assert lottery.run_hash(a) == lottery.run_hash(b)
  assert lottery.run_hash(a) != lottery.run_hash(tiny_config(seed=1))
