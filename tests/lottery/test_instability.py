"""Instability sweeps: copies, bad input, and resumption after a kill."""
import hashlib
import pathlib

import jax
import numpy as np
import pytest

from configs import connectivity as connectivity_config
from conftest import tiny_config
from conftest import tiny_dataset
from lth_jax import lottery
from lth_jax.lottery import experiment
from lth_jax.studies.connectivity import instability
from lth_jax.studies.connectivity import sweep as instability_sweep
from lth_jax.training import checkpoints
from lth_jax.runs import storage


class Killed(Exception):
  """Raised from a hook: the sweep dies there, as a killed process."""


@pytest.fixture(scope='module')
def dataset():
  return tiny_dataset(n_train=240, n_test=120)


@pytest.fixture(scope='module')
def trunk(tmp_path_factory, dataset):
  """A finished one-level trunk (20 steps) and its config."""
  workdir = tmp_path_factory.mktemp('trunk')
  config = tiny_config(levels=1, steps='20it', checkpoint_every='10it',
                       training__eval_every='10it')
  lottery.run(config, str(workdir), dataset)
  return config, workdir


def sweep_config(trunk_config, **overrides):
  config = connectivity_config.sweep_config(
      trunk_config.copy_and_resolve_references(), rewind_steps=(0, 10),
      levels=(0, 1), replicates=(0,), pairs=1, train_eval_examples=64,
      eval_every='10it', checkpoint_every='10it')
  config.connectivity.batch_norm_examples = 32
  for name, value in overrides.items():
    config.connectivity[name] = value
  return config


def digests(root: pathlib.Path) -> dict[str, str]:
  return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
          for p in sorted(root.rglob('*')) if p.is_file() and p.name != 'lock'}


@pytest.fixture(scope='module')
def reference(tmp_path_factory, trunk, dataset):
  """An uninterrupted sweep: its paths and output directory."""
  config, trunk_dir = trunk
  workdir = tmp_path_factory.mktemp('sweep')
  sweep = sweep_config(config)
  paths = instability_sweep.run(sweep, str(trunk_dir), str(workdir), dataset,
                                log=lambda line: None)
  return paths, instability_sweep.output_dir(sweep, str(workdir))


def test_copy_keys_differ_from_the_trunk_and_each_other():
  exp_key = jax.random.fold_in(jax.random.key(0), 0)
  trunk_key = jax.random.fold_in(exp_key, experiment.DATA_STREAM)
  keys = [instability.copy_data_key(exp_key, p, c)
          for p in range(3) for c in instability.COPIES]
  data = {tuple(np.asarray(jax.random.key_data(k)).tolist())
          for k in keys + [trunk_key]}
  assert len(data) == 7
  again = instability.copy_data_key(exp_key, 2, 1)
  np.testing.assert_array_equal(jax.random.key_data(again),
                                jax.random.key_data(keys[-1]))


def test_the_two_copies_differ_only_in_data_order(trunk, dataset, reference):
  config, trunk_dir = trunk
  exp = experiment.Experiment.setup(config, str(trunk_dir), dataset)
  init = exp.init_variables(0)
  start = exp.new_state(init['params'], init['batch_stats'],
                        exp.dense_masks(init['params']), 0, step=10)
  a, b = instability.pair_states(start, jax.random.fold_in(
      jax.random.key(config.seed), 0), pair=0)
  assert not np.array_equal(jax.random.key_data(a.data_key),
                            jax.random.key_data(b.data_key))
  same = b.replace(data_key=a.data_key)
  leaves_a, leaves_same = jax.tree.leaves(a), jax.tree.leaves(same)
  assert len(leaves_a) == len(leaves_same) > 10
  for x, y in zip(leaves_a, leaves_same):
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
      x, y = jax.random.key_data(x), jax.random.key_data(y)
    np.testing.assert_array_equal(x, y)
  # In the sweep the copies start equal and end apart.
  _, out_dir = reference
  pair = instability_sweep.pair_dir(out_dir, 10, 1, 0, 0)
  keys = [storage.read_json(pair / f'copy_{c}' / 'summary.json')['data_key']
          for c in instability.COPIES]
  assert keys[0] != keys[1]
  assert keys[0] == np.asarray(jax.random.key_data(a.data_key)).tolist()
  trained = [storage.load_tree(pair / f'copy_{c}' / 'trained')
             for c in instability.COPIES]
  assert not np.array_equal(trained[0]['params']['hidden_0']['kernel'],
                            trained[1]['params']['hidden_0']['kernel'])


def test_paths_cover_the_sweep_with_masked_end_points(reference, trunk):
  paths, out_dir = reference
  assert [(p['level'], p['rewind_step']) for p in paths] == [
      (0, 0), (0, 10), (1, 0), (1, 10)]
  for p in paths:
    assert len(p['alphas']) == 30 and p['alphas'][0] == 0.0
    for split in instability.SPLITS:
      err = np.asarray(p[split]['error'])
      assert p[split]['instability'] == pytest.approx(
          err.max() - (err[0] + err[-1]) / 2)
  assert paths[2]['weights_remaining'] < 1.0 == paths[0]['weights_remaining']
  # The ticket's copies keep their pruned weights at zero.
  _, trunk_dir = trunk
  masks = storage.load_tree(storage.level_dir(
      trunk_dir / lottery.run_hash(trunk[0]), 0, 1) / 'masks')
  trained = storage.load_tree(instability_sweep.pair_dir(
      out_dir, 0, 1, 0, 0) / 'copy_1' / 'trained')
  kernel = np.asarray(trained['params']['hidden_0']['kernel'])
  assert np.all(kernel[~np.asarray(masks['hidden_0']['kernel'])] == 0)
  # The rewind point at k = 10 was captured beside the sweep.
  summary = storage.read_json(out_dir / 'rewind_points' / 'replicate_0'
                              / 'capture' / 'summary.json')
  assert summary['compared_steps'] == [0, 10]
  assert summary['max_val_loss_diff_vs_trunk'] < 1e-5


def test_a_killed_sweep_resumes_to_the_same_paths(reference, trunk, dataset,
                                                  tmp_path, monkeypatch):
  config, trunk_dir = trunk
  sweep = sweep_config(config)
  saved = []
  original = checkpoints.save_checkpoint

  def dying_checkpoint(job_dir, step, state, rows, pending):
    original(job_dir, step, state, rows, pending)
    saved.append(job_dir)
    if len(saved) == 4:  # every copy of k = 0 has its step-10 checkpoint
      raise Killed()

  monkeypatch.setattr(checkpoints, 'save_checkpoint', dying_checkpoint)
  with pytest.raises(Killed):
    instability_sweep.run(sweep, str(trunk_dir), str(tmp_path), dataset,
                          log=lambda line: None)
  monkeypatch.setattr(checkpoints, 'save_checkpoint', original)
  out_dir = instability_sweep.output_dir(sweep, str(tmp_path))
  assert not list(out_dir.rglob('path.json'))
  assert len(list(out_dir.rglob('checkpoints/step_10'))) == 4

  def dying_log(line):
    if 'instability' in line:  # right after the first path is written
      raise Killed()

  with pytest.raises(Killed):
    instability_sweep.run(sweep, str(trunk_dir), str(tmp_path), dataset,
                          log=dying_log)
  first = list(out_dir.rglob('path.json'))
  assert len(first) == 1
  stamp = first[0].stat().st_mtime_ns
  paths = instability_sweep.run(sweep, str(trunk_dir), str(tmp_path),
                                dataset, log=lambda line: None)
  assert first[0].stat().st_mtime_ns == stamp  # finished work is skipped
  assert paths == reference[0]  # bit-identical numbers
  assert not list(out_dir.rglob('checkpoints'))


@pytest.mark.parametrize('overrides, error, match', [
    ({'rewind_steps': (0, 20)}, ValueError,
     'rewind step 20 is not before the end of training'),
    ({'num_alphas': 1}, ValueError, 'at least 2 points'),
    ({'levels': (0, 4)}, FileNotFoundError, 'no finished level 4'),
    ({'replicates': (0, 3)}, FileNotFoundError, 'no replicate 3'),
    ({'batch_norm': 'interpolate'}, ValueError, 'other settings'),
])
def test_bad_input_is_one_error_and_touches_nothing(
    reference, trunk, dataset, overrides, error, match):
  config, trunk_dir = trunk
  _, out_dir = reference
  before = digests(out_dir)
  with pytest.raises(error, match=match) as info:
    instability_sweep.run(sweep_config(config, **overrides), str(trunk_dir),
                          str(out_dir.parent), dataset)
  assert '\n' not in str(info.value)
  assert digests(out_dir) == before


def test_masks_of_another_model_are_an_error(trunk, dataset, tmp_path):
  config, trunk_dir = trunk
  run_dir = trunk_dir / lottery.run_hash(config)
  copy = tmp_path / 'trunk' / run_dir.name
  import shutil  # pylint: disable=import-outside-toplevel
  shutil.copytree(run_dir, copy)
  storage.save_tree(storage.level_dir(copy, 0, 1) / 'masks',
                    {'hidden_0': {'kernel': np.ones((3, 3), bool)}})
  with pytest.raises(storage.CorruptTreeError, match='expected tree'):
    instability_sweep.run(sweep_config(config), str(tmp_path / 'trunk'),
                          str(tmp_path / 'sweep'), dataset)
  assert not (tmp_path / 'sweep').exists()
