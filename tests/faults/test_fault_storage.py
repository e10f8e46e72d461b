"""Storage under faults: atomic trees, verified reads, leftovers cleaned."""
import os

import numpy as np
import pytest

from lth_jax.runs import storage

TREE = {'dense': {'kernel': np.arange(600, dtype=np.float32).reshape(20, 30),
                  'bias': np.zeros(30, np.float32)},
        'mask': None, 'step': np.asarray(7, np.int32)}


def test_save_tree_replaces_a_tree_without_leftovers(tmp_path):
  storage.save_tree(tmp_path / 't', TREE)
  newer = dict(TREE, step=np.asarray(8, np.int32))
  storage.save_tree(tmp_path / 't', newer)
  assert os.listdir(tmp_path) == ['t']
  assert int(storage.load_tree(tmp_path / 't', TREE)['step']) == 8


def test_leftovers_of_a_killed_save_are_stale_and_never_read(tmp_path):
  run = tmp_path / 'run'
  level = storage.level_dir(run, 0, 0)
  storage.save_tree(level / 'masks', TREE)
  (level / 'summary.json').write_text('{}')
  storage.save_tree(level / 'checkpoints' / 'step_5', TREE)  # finished: stale
  (level / '.trained.new.orbax-checkpoint-tmp').mkdir()  # killed in orbax
  (level / '.trained.new').mkdir()  # killed before the rename
  (level / '.metrics.jsonl.tmp.123').write_text('{')  # killed mid-write
  assert not storage.tree_exists(level / 'trained')
  stale = storage.remove_stale(run)
  assert sorted(p.name for p in stale) == [
      '.metrics.jsonl.tmp.123', '.trained.new',
      '.trained.new.orbax-checkpoint-tmp', 'checkpoints']
  assert sorted(os.listdir(level)) == ['masks', 'summary.json']
  assert storage.stale_paths(run) == []


def test_checkpoints_of_an_unfinished_level_are_kept(tmp_path):
  level = storage.level_dir(tmp_path, 0, 1)
  storage.save_tree(level / 'checkpoints' / 'step_5', TREE)
  assert storage.remove_stale(tmp_path) == []
  assert storage.tree_exists(level / 'checkpoints' / 'step_5')


def _largest_file(path):
  return max((p for p in path.rglob('*') if p.is_file()),
             key=lambda p: p.stat().st_size)


@pytest.mark.filterwarnings(  # orbax's reader, closing after an error
    'ignore::pytest.PytestUnraisableExceptionWarning')
@pytest.mark.parametrize('fault, message', [
    ('missing', 'is missing or incomplete'),
    ('truncated', 'is unreadable'),
    ('altered', 'is corrupt: its arrays do not match the digest'),
])
def test_load_tree_names_a_damaged_tree(tmp_path, fault, message):
  path = tmp_path / 't'
  storage.save_tree(path, TREE)
  victim = _largest_file(path)
  content = victim.read_bytes()
  if fault == 'missing':
    (path / '_CHECKPOINT_METADATA').unlink()
  elif fault == 'truncated':
    victim.write_bytes(content[:len(content) // 2])
  else:
    middle = len(content) // 2  # read back silently changed by orbax
    victim.write_bytes(content[:middle] + bytes([content[middle] ^ 0xFF])
                       + content[middle + 1:])
  with pytest.raises(storage.CorruptTreeError, match=f'^{path} {message}'):
    storage.load_tree(path, TREE)


@pytest.mark.parametrize('like, message', [
    (dict(TREE, step=np.asarray(7.0, np.float32)),
     "'step' is int32\\(\\), expected float32\\(\\)"),
    ({'dense': TREE['dense']}, "it has an extra 'step'"),
    (dict(TREE, extra=np.zeros(2)), "it lacks 'extra'"),
])
def test_load_tree_names_the_first_mismatching_path(tmp_path, like, message):
  storage.save_tree(tmp_path / 't', TREE)
  with pytest.raises(storage.CorruptTreeError,
                     match='does not hold the expected tree: ' + message):
    storage.load_tree(tmp_path / 't', like)
