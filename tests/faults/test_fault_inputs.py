"""Bad input is refused with a message naming the problem and its fix.

An earlier finished run lives in the same work directory. For every bad
input the test checks the message and that nothing was written: every file
and folder of the work directory is byte-identical before and after.
"""
import pathlib
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

from lth_jax import data
from lth_jax import lottery
from lth_jax import models
from lth_jax import pruning
from lth_jax.lottery import jobs
from lth_jax.runs import lock as run_lock
from lth_jax.runs import storage
from lth_jax.training import engine

from conftest import tiny_config
from conftest import tiny_dataset
import fault_harness as fh


def config(**fields):
  """The finished run's config with ``fields`` ('a.b': value) changed."""
  c = tiny_config(levels=1, steps='20it')
  for name, value in fields.items():
    node, _, leaf = name.rpartition('.')
    (c[node] if node else c)[leaf] = value
  return c


@pytest.fixture(scope='module')
def finished(tmp_path_factory):
  """A work directory holding a finished run (2 levels x 20 steps).

  Shared by the tests (and xdist workers) that must not change it.
  """
  return fh.shared_once(
      tmp_path_factory, 'faults-finished-run',
      lambda folder: lottery.run(config(), str(folder),
                                 dataset=tiny_dataset()))


@pytest.fixture
def own_copy(finished, tmp_path):
  """A private copy of ``finished``, for tests that write to it."""
  shutil.copytree(finished, tmp_path / 'work')
  return tmp_path / 'work'


def assert_refused(workdir, error, words, fn):
  """``fn()`` raises ``error`` whose message has ``words``; nothing changes."""
  before = fh.tree_files(workdir)
  with pytest.raises(error) as e:
    fn()
  for word in words:
    assert word in str(e.value), str(e.value)
  assert fh.tree_files(workdir) == before, 'the work directory changed'
  return str(e.value)


BAD_CONFIGS = {
    'unknown model': (
        {'model': 'lenet300'}, ["unknown model 'lenet300'", 'lenet300_100']),
    'unknown data set': (
        {'data.name': 'mnsit'}, ["unknown data set 'mnsit'", 'mnist']),
    'unknown pruning strategy': (
        {'pruning.strategy': 'magnitude'},
        ["unknown pruning strategy 'magnitude'", 'layerwise']),
    'unknown sweep strategy': (
        {'sweep.strategy': 'pmap'}, ["unknown sweep strategy 'pmap'", 'vmap']),
    'unknown optimizer': (
        {'training.optimizer': 'adamw'}, ["unknown optimizer 'adamw'", 'sgd']),
    'unknown data source': (
        {'data.source': 'hdfs'}, ["unknown data.source 'hdfs'", 'raw, tfds']),
    'unknown rewind mode': (
        {'pruning.rewind': 'late'}, ["unknown pruning.rewind 'late'", 'step']),
    'unknown augmentation': (
        {'data.augment': 'flip'}, ["unknown augmentation 'flip'", 'none']),
    'rate of 1': (
        {'pruning.rate': 1.0}, ['pruning.rate 1.0 is outside [0, 1)', '0.2']),
    'negative rate': (
        {'pruning.rate': -0.2}, ['pruning.rate -0.2 is outside [0, 1)']),
    'layer rate above 1': (
        {'pruning.layer_rates': 'output/=1.5'},
        ["'output/'", '1.5 is outside [0, 1)']),
    'zero steps': (
        {'training.steps': '0it'}, ["training.steps must be positive",
                                    "'50000it'", "got '0it'"]),
    'negative steps': (
        {'training.steps': '-200it'},
        ["training.steps must be positive", "'50000it'", "got '-200it'"]),
    'zero evaluation interval': (
        {'training.eval_every': '0ep'},
        ["training.eval_every must be positive", "got '0ep'"]),
    'negative checkpoint interval': (
        {'checkpoint_every': '-50it'},
        ["checkpoint_every must be non-negative", "'0it' turns it off",
         "got '-50it'"]),
    'zero replicates': (
        {'replicates': 0}, ['replicates must be a positive integer, got 0']),
    'zero batch size': (
        {'training.batch_size': 0},
        ['training.batch_size must be a positive integer, got 0']),
    'zero learning rate': (
        {'training.learning_rate': 0.0},
        ['training.learning_rate must be a finite number > 0, got 0.0']),
    'infinite learning rate': (
        {'training.learning_rate': float('inf')},
        ['training.learning_rate must be a finite number > 0, got inf']),
    'momentum of 1': (
        {'training.momentum': 1.0},
        ['training.momentum must be in [0, 1), got 1.0']),
    'negative levels': (
        {'pruning.levels': -1}, ['pruning.levels must be an integer >= 0']),
    'invalid prunable regex': (
        {'pruning.prunable': '(kernel'},
        ["pruning.prunable '(kernel' is not a valid regex"]),
    'rewind step after training': (
        {'pruning.rewind': 'step', 'pruning.rewind_step': '20it'},
        ['pruning.rewind_step (20it) must be before the end of training']),
    'misspelt field': (
        {'training.stepz': '30it'},
        ["unknown config field 'training.stepz'",
         "Did you mean 'training.steps'?"]),
}


@pytest.mark.parametrize('name', list(BAD_CONFIGS))
def test_bad_config_is_refused_before_any_work(finished, name):
  fields, words = BAD_CONFIGS[name]
  assert_refused(finished, ValueError, words, lambda: lottery.run(
      config(**fields), str(finished), dataset=tiny_dataset()))


def _raw_root(tmp_path, files):
  root = tmp_path / 'data'
  (root / 'mnist').mkdir(parents=True)
  for name, content in files.items():
    (root / 'mnist' / name).write_bytes(content)
  return root


def test_missing_data_file_is_named(finished, tmp_path):
  root = _raw_root(tmp_path, {})
  c = config(**{'data.root': str(root), 'data.source': 'raw'})
  assert_refused(finished, data.DataFileError, [
      f'missing data file {root}/mnist/train-images-idx3-ubyte.gz',
      'LTH_DATA_DIR', "config.data.source='tfds'"],
                 lambda: lottery.run(c, str(finished)))


def test_data_file_failing_its_checksum_is_named(finished, tmp_path):
  files = {name: b'\x1f\x8b\x08 truncated' for name in data.mnist.FILES}
  root = _raw_root(tmp_path, files)
  c = config(**{'data.root': str(root), 'data.source': 'raw'})
  assert_refused(finished, data.DataFileError, [
      f'data file {root}/mnist/train-images-idx3-ubyte.gz is corrupt or '
      'truncated', 'Replace it with the canonical file'],
                 lambda: lottery.run(c, str(finished)))


def test_locked_run_directory_fails_at_once(own_copy):
  lock = own_copy / lottery.run_hash(config()) / 'lock'
  holder = subprocess.Popen([sys.executable, '-c', (
      'import fcntl, os, sys, time\n'
      f'fd = os.open({str(lock)!r}, os.O_RDWR)\n'
      'fcntl.flock(fd, fcntl.LOCK_EX)\n'
      'os.pwrite(fd, f"pid {os.getpid()} on test".encode(), 0)\n'
      'print("locked", flush=True)\n'
      'time.sleep(120)\n')], stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == 'locked'
    assert_refused(own_copy, run_lock.RunLockedError, [
        'is in use by another process', f'pid {holder.pid} on test',
        'another --workdir'],
                   lambda: lottery.run(config(), str(own_copy),
                                       dataset=tiny_dataset()))
  finally:
    holder.kill()
    holder.wait()


def test_stale_lock_is_taken_over(own_copy, caplog):
  rdir = own_copy / lottery.run_hash(config())
  (rdir / 'lock').write_text('pid 999999 on a-dead-host')
  levels = {d: fh.file_digests(d) for d in rdir.glob('replicate_*/level_*')}
  summaries = lottery.run(config(), str(own_copy), dataset=tiny_dataset())
  assert [s['level'] for s in summaries] == [0, 1]
  assert 'taking over the stale lock of pid 999999' in caplog.text
  assert (rdir / 'lock').read_text() == ''  # released
  assert levels == {d: fh.file_digests(d)
                    for d in rdir.glob('replicate_*/level_*')}


def _lenet_masks():
  model = models.get_model('lenet300_100', num_classes=10)
  params = model.init(jax.random.key(0), np.zeros((1, 28, 28, 1)),
                      train=False)['params']
  return params, pruning.ones_like(params)


def test_mask_tree_not_matching_the_params_names_the_path():
  params, masks = _lenet_masks()
  del masks['hidden_1']
  with pytest.raises(ValueError, match="params have 'hidden_1/bias', masks "
                     "have 'output/bias'.*lth_jax.ones_like"):
    pruning.rewind(params, masks)


def test_saved_masks_of_another_model_name_the_path(finished, tmp_path):
  workdir = tmp_path / 'work'
  c = config(seed=7)
  _, masks = _lenet_masks()
  masks['hidden_1']['kernel'] = np.ones((300, 99), bool)
  path = storage.level_dir(workdir / lottery.run_hash(c), 0, 0) / 'masks'
  storage.save_tree(path, masks)
  assert_refused(finished, storage.CorruptTreeError, [
      str(path), "'hidden_1/kernel' is bool(300, 99), expected "
      'bool(300, 100)', f'delete {path} to recompute its masks'],
                 lambda: lottery.run(c, str(workdir), dataset=tiny_dataset()))
  shutil.rmtree(path)  # the fix the message gives
  assert len(lottery.run(c, str(workdir), dataset=tiny_dataset())) == 2


def _truncate(tree: pathlib.Path) -> None:
  victim = max((p for p in tree.rglob('*') if p.is_file()),
               key=lambda p: p.stat().st_size)
  victim.write_bytes(victim.read_bytes()[:victim.stat().st_size // 2])


def _flip_a_byte(tree: pathlib.Path) -> None:
  victim = max((p for p in tree.rglob('*') if p.is_file()),
               key=lambda p: p.stat().st_size)
  content = bytearray(victim.read_bytes())
  content[len(content) // 2] ^= 0xFF
  victim.write_bytes(bytes(content))


CORRUPTIONS = {
    'truncated trained': ('trained', _truncate, 'is unreadable'),
    'altered trained': ('trained', _flip_a_byte, 'is corrupt: its arrays'),
    'masks missing metadata': (
        'masks', lambda tree: (tree / '_METADATA').unlink(), 'is unreadable'),
}


@pytest.mark.filterwarnings(  # orbax's reader, closing after an error
    'ignore::pytest.PytestUnraisableExceptionWarning')
@pytest.mark.parametrize('name', list(CORRUPTIONS))
def test_corrupt_finished_level_names_the_file_and_the_fix(
    finished, tmp_path, name):
  tree_name, corrupt, problem = CORRUPTIONS[name]
  rdir = tmp_path / lottery.run_hash(config())
  shutil.copytree(finished / rdir.name, rdir)
  level0, level1 = (storage.level_dir(rdir, 0, level) for level in (0, 1))
  shutil.rmtree(level1)  # level 1 must be recomputed from level 0
  corrupt(level0 / tree_name)
  message = assert_refused(tmp_path, storage.CorruptTreeError, [
      'cannot prune level 1 of replicate 0 from level 0',
      f'{level0 / tree_name} {problem}', f'Delete {level0} to recompute '
      'level 0'], lambda: lottery.run(config(), str(tmp_path),
                                      dataset=tiny_dataset()))
  print(message)
  shutil.rmtree(level0)  # the fix the message gives
  lottery.run(config(), str(tmp_path), dataset=tiny_dataset())
  expected = fh.results(finished / rdir.name)
  got = fh.results(rdir)
  del expected['config.json'], got['config.json']
  fh.assert_same_results(expected, got)


def test_exploding_loss_names_level_and_step_and_writes_nothing(own_copy):
  c = config(**{'training.learning_rate': 1e30})
  rdir = own_copy / lottery.run_hash(c)
  before = fh.tree_files(own_copy)
  with pytest.raises(engine.NonFiniteLossError,
                     match=r'^level 0, replicate 0: the training loss is NaN '
                     r'or infinite at step \d+\. .*training.learning_rate'):
    lottery.run(c, str(own_copy), dataset=tiny_dataset())
  after = fh.tree_files(own_copy)
  assert {k: v for k, v in after.items() if k in before} == before
  assert not list(rdir.rglob('summary.json'))
  assert not list(rdir.rglob('trained'))


@pytest.mark.filterwarnings('ignore:overflow encountered:RuntimeWarning')
def test_non_finite_weights_with_a_finite_loss_are_caught(own_copy):
  # 1e39 overflows float32: step 0's loss is finite, its update is not.
  c = config(**{'training.learning_rate': 1e39, 'training.eval_every': '1it'})
  with pytest.raises(engine.NonFiniteLossError,
                     match=r'^level 0, replicate 0: the weights or optimizer '
                     r'state are NaN or infinite after step 1\.'):
    lottery.run(c, str(own_copy), dataset=tiny_dataset())
  assert not list((own_copy / lottery.run_hash(c)).rglob('summary.json'))


def test_a_finished_level_is_never_written_again(finished):
  level0 = storage.level_dir(finished / lottery.run_hash(config()), 0, 0)
  job = jobs.Job(0, level0, state=None)
  assert_refused(finished, FileExistsError, [
      'level 0 of replicate 0 is finished', f'Delete {level0}'],
                 lambda: jobs.write_trained(job, None, [], {}))


def test_launcher_rejects_a_misspelt_override(tmp_path):
  workdir = tmp_path / 'work'
  proc = subprocess.run(
      [sys.executable, '-m', 'experiments.lottery',
       '--config=configs/lenet300_mnist.py:preset=cpu',
       '--config.training.stepz=300it', f'--workdir={workdir}'],
      cwd=fh.REPO, env=dict(fh.os.environ, PYTHONPATH=str(fh.REPO)),
      capture_output=True, text=True, timeout=fh.TIMEOUT, check=False)
  assert proc.returncode != 0
  assert 'Did you mean "steps" instead of "stepz"?' in proc.stderr
  assert not workdir.exists()
