"""The supermask experiment on a tiny finished trunk (lottery.supermasks)."""
import csv
import pathlib
import shutil

import ml_collections
import pytest

from lth_jax import files
from lth_jax import lottery
from lth_jax.runs import storage
from lth_jax.studies.supermasks import report as supermask_report
from lth_jax.studies.supermasks import runner as supermasks
from lth_jax.studies.supermasks import schema as supermask_schema
from lth_jax.training import checkpoints

from conftest import tiny_config
from conftest import tiny_dataset


def trunk_config():
  return tiny_config(levels=2, steps='20it', replicates=1,
                     checkpoint_every='0it', training__eval_every='10it')


def config(**fields):
  c = ml_collections.ConfigDict()
  c.trunk = trunk_config()
  c.supermask = supermask_schema.default_section()
  s = c.supermask
  s.levels, s.criteria, s.kept, s.pruned = ('2', 'large_final,movement',
                                            'init,signed_constant', 'zero')
  s.remaining, s.steps, s.eval_every, s.batch_size = '0.5', 8, 4, 16
  s.replicates = 1
  s.methods = 'edge_popup'  # Bernoulli training: tests/training.
  for field, value in fields.items():
    s[field] = value
  return c


@pytest.fixture(scope='module')
def trunk(tmp_path_factory):
  workdir = tmp_path_factory.mktemp('trunk')
  data = tiny_dataset()
  lottery.run(trunk_config(), str(workdir), dataset=data)
  return workdir, data


def test_writes_tables_and_figure(trunk):
  workdir, data = trunk
  result = supermasks.run(config(), str(workdir), dataset=data)
  out = pathlib.Path(result['out_dir'])
  for name in ('untrained.csv', 'learned.csv', 'tickets.csv', 'summary.csv',
               'supermask.png'):
    assert (out / name).exists(), name
  with open(out / 'untrained.csv') as f:
    rows = list(csv.DictReader(f))
  # dense + (2 criteria + imp_ticket) x 2 treatments x 1 level.
  assert len(rows) == 1 + 3 * 2
  ticket_pct = storage.read_json(
      storage.level_dir(out.parent, 0, 2) / 'summary.json'
  )['weights_remaining'] * 100
  for r in rows:
    if r['criterion'] != 'dense':
      assert float(r['weights_remaining_pct']) == pytest.approx(ticket_pct)
  learned = result['learned']
  assert [(r['method'], r['replicate']) for r in learned] == [
      ('edge_popup', 0)]
  assert all(r['weights_remaining_pct'] == pytest.approx(50, abs=0.1)
             for r in learned)
  text = supermask_report.to_markdown(result['summary'])
  assert '| large_final |' in text and '| edge_popup |' in text
  # A rerun reuses the finished learned runs.
  again = supermasks.run(config(), str(workdir), dataset=data)
  assert [r['seconds'] for r in again['learned']] == [
      r['seconds'] for r in learned]


def test_bad_input(trunk):
  workdir, data = trunk
  with pytest.raises(ValueError, match=r'unknown mask criterion .*known: '
                     r'large_final'):
    supermasks.run(config(criteria='biggest'), str(workdir), dataset=data)
  with pytest.raises(ValueError, match=r'outside \(0, 1\]'):
    supermasks.run(config(remaining='0.5,1.5'), str(workdir), dataset=data)
  # A trunk without trained weights at the source level.
  fresh = pathlib.Path(workdir).parent / 'untrained_trunk'
  run_dir = fresh / lottery.run_hash(trunk_config())
  src = pathlib.Path(workdir) / lottery.run_hash(trunk_config())
  for r in range(1):
    (run_dir / f'replicate_{r}' / 'level_2').mkdir(parents=True)
    storage.save_tree(run_dir / f'replicate_{r}' / 'init',
                      storage.load_tree(src / f'replicate_{r}' / 'init'))
    storage.save_tree(run_dir / f'replicate_{r}' / 'level_2' / 'masks',
                      storage.load_tree(src / f'replicate_{r}' / 'level_2' /
                                        'masks'))
  with pytest.raises(ValueError, match="'large_final' needs the final "
                     'weights.*run the trunk first.*experiments.lottery'):
    supermasks.run(config(methods=''), str(fresh), dataset=data)


class Killed(Exception):
  """Raised right after a checkpoint: the run dies there."""


def test_a_killed_learned_supermask_resumes_to_the_same_result(
    trunk, tmp_path, monkeypatch):
  workdir, data = trunk
  fields = {'levels': '', 'checkpoint_every': 4}
  reference = supermasks.run(config(**fields), str(workdir), dataset=data)
  shutil.copytree(workdir, tmp_path / 'w', ignore=shutil.ignore_patterns(
      'supermask_*'))
  real_save, real_restore = (checkpoints.save_checkpoint,
                             checkpoints.restore_checkpoint)
  restored = []

  def save_then_die(*args, **kwargs):
    real_save(*args, **kwargs)
    raise Killed()

  def restore(*args, **kwargs):
    out = real_restore(*args, **kwargs)
    restored.append(out[0])
    return out

  monkeypatch.setattr(checkpoints, 'save_checkpoint', save_then_die)
  with pytest.raises(Killed):
    supermasks.run(config(**fields), str(tmp_path / 'w'), dataset=data)
  job = pathlib.Path(reference['out_dir'].relative_to(workdir))
  job = tmp_path / 'w' / job / 'learned' / 'edge_popup_k0.50_r0'
  assert (job / 'checkpoints' / 'step_4').is_dir()
  assert not (job / 'summary.json').exists()
  monkeypatch.setattr(checkpoints, 'save_checkpoint', real_save)
  monkeypatch.setattr(checkpoints, 'restore_checkpoint', restore)
  resumed = supermasks.run(config(**fields), str(tmp_path / 'w'),
                           dataset=data)
  assert restored == [4]  # resumed from the step-4 checkpoint
  assert not (job / 'checkpoints').exists()
  assert (job / 'events').is_dir()  # TensorBoard, through the job runner

  def result(rows):
    return [{k: v for k, v in r.items() if k != 'seconds'} for r in rows]

  assert result(resumed['learned']) == result(reference['learned'])
  assert len(reference['learned'][0]['curve']) == 3  # steps 0, 4, 8
  digest = 'trained/' + files.DIGEST_FILE
  ref_job = reference['out_dir'] / 'learned' / 'edge_popup_k0.50_r0'
  assert (job / digest).read_text() == (ref_job / digest).read_text()


def test_checkpoint_every_keeps_the_output_folder():
  assert supermask_schema.section_hash(config()) == supermask_schema.section_hash(
      config(checkpoint_every=4))
  assert supermask_schema.section_hash(config()) != supermask_schema.section_hash(
      config(steps=9))
