"""Controls as branches against a finished trunk (lth_jax.lottery.branches)."""
import pathlib
import shutil

import jax
import numpy as np
import pytest

from lth_jax import lottery
from lth_jax import pruning
import lth_jax.studies  # registers the pruning-at-init branches
from lth_jax.lottery import branches
from lth_jax.lottery import experiment
from lth_jax.runs import storage

from conftest import tiny_config
from conftest import tiny_dataset

LEVELS = 2
REPLICATES = 2


def config():
  return tiny_config(levels=LEVELS, steps='20it', replicates=REPLICATES,
                     checkpoint_every='0it', training__eval_every='10it')


def leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def flat(tree):
  """``{path: array or None}`` (mask trees keep their ``None`` leaves)."""
  items, _ = jax.tree_util.tree_flatten_with_path(
      tree, is_leaf=lambda x: x is None)
  return {'/'.join(k.key for k in path): None if x is None else np.asarray(x)
          for path, x in items}


def load(rdir, replicate, level, name, branch=None):
  return storage.load_tree(
      storage.level_dir(rdir, replicate, level, branch) / name)


@pytest.fixture(scope='module')
def trunk(tmp_path_factory):
  workdir = tmp_path_factory.mktemp('trunk')
  lottery.run(config(), str(workdir), dataset=tiny_dataset())
  return workdir, pathlib.Path(workdir) / lottery.run_hash(config())


@pytest.fixture(scope='module')
def exp(trunk):
  return experiment.Experiment.setup(config(), str(trunk[0]), tiny_dataset())


@pytest.fixture(scope='module')
def reinit_run(trunk):
  workdir, _ = trunk
  return lottery.run_branch(config(), str(workdir), 'random_reinit',
                            dataset=tiny_dataset())


def test_registry_lists_the_controls():
  # Pruning at init (studies.init_pruning) registers its branches too.
  assert {'random_prune_global', 'random_prune_layer', 'random_reinit',
          'same_sign_reinit', 'snip', 'synflow', 'imp_shuffled'} <= set(
              branches.all_branch_names())
  assert branches.all_branch_names() == sorted(branches.all_branch_names())
  with pytest.raises(ValueError, match="unknown branch 'reinit'; known: .*"
                     'random_prune_global, random_prune_layer, random_reinit'):
    branches.get_branch('reinit')


def test_branch_writes_a_level_like_the_trunk(trunk, reinit_run):
  _, rdir = trunk
  assert [(s['level'], s['replicate']) for s in reinit_run] == [
      (1, 0), (1, 1), (2, 0), (2, 1)]
  assert {s['branch'] for s in reinit_run} == {'random_reinit'}
  for r in range(REPLICATES):
    assert not storage.level_dir(rdir, r, 0, 'random_reinit').exists()
    for level in range(1, LEVELS + 1):
      d = storage.level_dir(rdir, r, level, 'random_reinit')
      assert sorted(p.name for p in d.iterdir()) == [
          'events', 'masks', 'metrics.jsonl', 'summary.json', 'trained']
      for a, b in zip(leaves(load(rdir, r, level, 'masks', 'random_reinit')),
                      leaves(load(rdir, r, level, 'masks'))):
        np.testing.assert_array_equal(a, b)
      rows = storage.read_jsonl(d / 'metrics.jsonl')
      assert [row['step'] for row in rows] == [0, 10, 20]


def test_random_reinit_trains_new_weights_under_the_trunk_mask(
    trunk, reinit_run):
  _, rdir = trunk
  for level in range(1, LEVELS + 1):
    masks = load(rdir, 0, level, 'masks')
    trained = load(rdir, 0, level, 'trained', 'random_reinit')['params']
    trunk_trained = load(rdir, 0, level, 'trained')['params']
    for path, m in flat(masks).items():
      if m is not None:
        w, t = flat(trained)[path], flat(trunk_trained)[path]
        assert (w[~m] == 0).all()
        assert np.abs(w - t)[m].mean() > 0.01


def test_random_reinit_start_is_a_fresh_masked_init(trunk, exp):
  _, rdir = trunk
  init = storage.load_tree(rdir / 'replicate_1' / 'init')['params']
  masks = load(rdir, 1, 2, 'masks')
  state = branches.start_state(exp, 'random_reinit', 1, 2)
  fresh = exp.init_variables(1, key=branches.control_key(exp, 1, 2))['params']
  expected = pruning.apply_masks(fresh, masks)
  for path, m in flat(state.masks).items():
    got = flat(state.params)[path]
    np.testing.assert_array_equal(got, flat(expected)[path])
    if m is not None:
      np.testing.assert_array_equal(m, flat(masks)[path])
      # No kept weight equals the trunk's init.
      assert np.abs(got - flat(init)[path])[m].min() > 0
  assert int(state.step) == 0
  # Replicates and levels draw different controls.
  other = branches.start_state(exp, 'random_reinit', 1, 1)
  assert not np.array_equal(leaves(other.params)[1], leaves(state.params)[1])


def test_same_sign_reinit_keeps_the_init_signs(trunk, exp):
  _, rdir = trunk
  init = storage.load_tree(rdir / 'replicate_0' / 'init')['params']
  state = branches.start_state(exp, 'same_sign_reinit', 0, 2)
  reinit = branches.start_state(exp, 'random_reinit', 0, 2)
  for path, m in flat(state.masks).items():
    got, old = flat(state.params)[path], flat(init)[path]
    fresh = flat(reinit.params)[path]
    np.testing.assert_array_equal(np.abs(got), np.abs(fresh))
    if m is not None:
      np.testing.assert_array_equal(np.sign(got)[m], np.sign(old)[m])
      assert (got[~m] == 0).all()
      # The fresh draw's own signs differ from the init's about half the time.
      assert (np.sign(fresh)[m] != np.sign(old)[m]).mean() > 0.3


@pytest.mark.parametrize('scope', ['layer', 'global'])
def test_random_prune_keeps_the_counts_with_a_new_mask(trunk, exp, scope):
  _, rdir = trunk
  init = storage.load_tree(rdir / 'replicate_0' / 'init')['params']
  trunk_masks = load(rdir, 0, 2, 'masks')
  state = branches.start_state(exp, f'random_prune_{scope}', 0, 2)
  got = pruning.sparsity_report(state.masks)
  want = pruning.sparsity_report(trunk_masks)
  assert got['remaining'] == want['remaining']
  counts = {k: v['remaining'] for k, v in got['layers'].items()}
  want_counts = {k: v['remaining'] for k, v in want['layers'].items()}
  assert (counts == want_counts) == (scope == 'layer')
  assert pruning.hamming_distance(state.masks, trunk_masks) > 0.2
  # The weights are the trunk's start (the init) under the random mask.
  for w, p in zip(leaves(state.params),
                  leaves(pruning.apply_masks(init, state.masks))):
    np.testing.assert_array_equal(w, p)


def test_finished_branch_levels_are_skipped(trunk, reinit_run, monkeypatch):
  workdir, _ = trunk
  monkeypatch.setattr(branches.jobs_lib, 'train',
                      lambda *a, **k: pytest.fail('retrained a done level'))
  again = lottery.run_branch(config(), str(workdir), 'random_reinit',
                             dataset=tiny_dataset())
  assert again == reinit_run


def test_a_killed_branch_resumes_to_the_same_result(trunk, reinit_run,
                                                    tmp_path):
  _, rdir = trunk
  mine = tmp_path / rdir.name
  shutil.copytree(rdir, mine)
  shutil.rmtree(storage.level_dir(mine, 1, 2, 'random_reinit'))
  again = lottery.run_branch(config(), str(tmp_path), 'random_reinit',
                             dataset=tiny_dataset())
  assert again == reinit_run
  for a, b in zip(leaves(load(mine, 1, 2, 'trained', 'random_reinit')),
                  leaves(load(rdir, 1, 2, 'trained', 'random_reinit'))):
    np.testing.assert_array_equal(a, b)


def test_missing_trunk_level_says_run_the_trunk_first(trunk, tmp_path):
  _, rdir = trunk
  mine = tmp_path / rdir.name
  shutil.copytree(rdir, mine)
  (storage.level_dir(mine, 1, 2) / 'summary.json').unlink()
  with pytest.raises(FileNotFoundError,
                     match='level 2 of replicate 1 .*run the trunk first'):
    lottery.run_branch(config(), str(tmp_path), 'random_prune_layer',
                       dataset=tiny_dataset())
  assert not (mine / 'replicate_0' / 'branch_random_prune_layer').exists()


def test_unknown_branch_fails_before_any_work(tmp_path):
  with pytest.raises(ValueError, match="unknown branch 'shuffle'"):
    lottery.run_branch(config(), str(tmp_path), 'shuffle')
  assert not any(tmp_path.iterdir())
