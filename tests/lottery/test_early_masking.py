"""Early masking on a tiny trunk (lth_jax.studies.early_masking)."""
import importlib
import os
import pathlib
import shutil

import jax
import ml_collections
import numpy as np
import pytest

from configs import early_masking as em_config
from lth_jax import files
from lth_jax import lottery
from lth_jax import pruning
from lth_jax.studies.early_masking import report as early_masking_report
from lth_jax.lottery import branches
from lth_jax.studies import early_masking as em
from lth_jax.lottery import imp
from lth_jax.runs import storage
from lth_jax.lottery import strategies
from lth_jax.lottery.experiment import Experiment
from lth_jax.training import checkpoints

from conftest import tiny_config
from conftest import tiny_dataset

STEPS = 20


def trunk_config(checkpoint_every='0it', **overrides):
  return tiny_config(levels=1, steps=f'{STEPS}it',
                     checkpoint_every=checkpoint_every,
                     training__eval_every='10it', **overrides)


def masking_config(trunk=None, **fields):
  c = ml_collections.ConfigDict()
  c.trunk = trunk or trunk_config(checkpoint_every=fields.pop(
      'checkpoint_every', '0it'))
  c.masking = em_config.masking_defaults()
  c.masking.targets = '0.8'           # trunk level 1 (20 % per level)
  c.masking.timing_points = '0,5,10,20'
  c.masking.first_point = 5
  for k, v in fields.items():
    c.masking[k] = v
  return c


def outputs(root):
  """Every tree (as arrays) and JSON under ``root`` that must reproduce."""
  out = {}
  for p in sorted(pathlib.Path(root).rglob('*')):
    rel = str(p.relative_to(root))
    if (p / 'lth_sha256.json').exists():
      out[rel] = (p / 'lth_sha256.json').read_text()
    elif p.suffix in ('.json', '.jsonl') and 'lth_sha256' not in p.name:
      out[rel] = p.read_text()
  return out


@pytest.fixture(scope='module')
def trunk(tmp_path_factory):
  workdir = tmp_path_factory.mktemp('trunk')
  lottery.run(trunk_config(), str(workdir), dataset=tiny_dataset())
  return workdir


@pytest.fixture(scope='module')
def oneshot(trunk, tmp_path_factory):
  workdir = tmp_path_factory.mktemp('oneshot')
  shutil.copytree(trunk, workdir, dirs_exist_ok=True)
  plan = em.run(masking_config(), str(workdir), dataset=tiny_dataset())
  exp = Experiment.setup(trunk_config(), str(workdir), tiny_dataset())
  return workdir, exp, plan


def test_replay_is_bit_identical_to_the_trunk(oneshot):
  _, exp, plan = oneshot
  assert plan.levels == (1,) and plan.timing_points == (0, 5, 10, 20)
  replay = storage.read_json(em.capture_dir(exp, 0) / 'replay.json')
  assert replay['bit_identical'] and replay['max_abs_diff'] == 0.0
  trained = storage.load_tree(storage.level_dir(exp.run_dir, 0, 0)
                              / 'trained')
  final = storage.load_tree(em.capture_dir(exp, 0) / f'step_{STEPS}')
  assert files.tree_digest(final) == files.tree_digest(trained)
  init = storage.load_tree(storage.init_dir(exp.run_dir, 0))
  step0 = storage.load_tree(em.capture_dir(exp, 0) / 'step_0')
  assert files.tree_digest(init) == files.tree_digest(step0)


def test_captured_weights_are_those_of_step_t(oneshot):
  """w_5 equals an independent 5-step run from the same init and key."""
  _, exp, _ = oneshot
  short = Experiment.setup(trunk_config(training__steps='5it',
                                        checkpoint_every='0it'),
                           str(oneshot[0] / 'short'), tiny_dataset())
  state = imp.start_state(exp, 0, 0)
  run = short.train([state], [oneshot[0] / 'short' / 'x'], 'short')[0]
  w5 = storage.load_tree(em.capture_dir(exp, 0) / 'step_5')
  assert files.tree_digest(em.variables_of(run.state)) == \
      files.tree_digest(w5)


def test_mask_from_t_prunes_w_t_with_the_trunk_counts(oneshot):
  _, exp, _ = oneshot
  base = em.em_dir(exp) / 'oneshot' / 'level_1' / 'replicate_0'
  trunk_masks = storage.load_tree(storage.level_dir(exp.run_dir, 0, 1)
                                  / 'masks')
  dense = exp.dense_masks(exp.init_variables(0)['params'])
  counts = em.layer_counts(exp, exp.init_variables(0)['params'], 1)
  strategy = strategies.get_strategy('layerwise')
  seen = []
  for t in ('0', '5', '10', '20', 'es'):
    masks = storage.load_tree(base / f't_{t}' / 'masks', dense)
    step = STEPS if t == 'es' else int(t)
    if t == 'es':
      step = storage.read_json(storage.level_dir(
          exp.run_dir, 0, 0) / 'summary.json')['early_stop_step']
    w_t = storage.load_tree(em.capture_dir(exp, 0) / f'step_{step}')
    expected = strategy(w_t['params'], dense, exp.config.pruning, 1)
    for a, b in zip(pruning.masks.mask_leaves(masks),
                    pruning.masks.mask_leaves(expected)):
      np.testing.assert_array_equal(a, b)
    assert [int(np.sum(m)) for m in pruning.masks.mask_leaves(masks)] == \
        counts
    seen.append(masks)
    assert (base / f't_{t}' / 'summary.json').exists()
  # The mask from the final weights is the trunk's own level-1 mask.
  assert pruning.hamming_distance(seen[3], trunk_masks) == 0.0
  assert pruning.hamming_distance(seen[0], seen[3]) > 0.0
  # The control: the trunk's random_prune_layer key and counts.
  control = em.control_ticket(exp, 0, 1, seen[3])
  expected = pruning.random_like(branches.control_key(exp, 0, 1), seen[3])
  assert pruning.hamming_distance(control.masks, expected) == 0.0
  assert (control.out_dir / 'summary.json').exists()


def test_report(oneshot):
  workdir, exp, plan = oneshot
  out = early_masking_report.write_report(masking_config(), str(workdir),
                                          tiny_dataset())
  assert {r['t'] for r in out['rows']} == {'0', '5', '10', '20', 'es',
                                          'IMP'}
  imp_row = [r for r in out['rows'] if r['t'] == 'IMP'][0]
  assert imp_row['ticket_acc_mean'] == imp_row['imp_acc_mean']
  assert imp_row['vs_imp'].startswith('+0.00')
  last = [r for r in out['rows'] if r['t'] == str(STEPS)][0]
  assert last['dist_to_final_mean'] == 0.0
  assert last['ticket_acc_mean'] == last['full_acc_mean']
  first = [r for r in out['rows'] if r['t'] == '0'][0]
  assert first['dist_to_final_mean'] > 0
  for name in ('csv', 'estimate_csv', 'replicates_csv', 'accuracy_png',
               'distance_png_1'):
    assert pathlib.Path(out['files'][name]).stat().st_size > 0
  est = out['estimates'][0]
  per = early_masking_report.replicate_rows(out['estimates'], 0.002)
  assert len(per) == 5  # one replicate, 4 timing points and 'es'
  final = [r for r in per if r['t'] == str(STEPS)][0]
  assert final['ticket_acc'] == final['full_acc'] == last['full_acc_mean']
  assert final['wins'] == (final['ticket_acc'] > final['control_acc'])
  assert last['winning_ticket'] == 'insufficient replicates'  # 1 replicate
  # IMP at the same sparsity: the trunk's own level 1, not the one-shot
  # full-mask ticket.
  imp_level = storage.read_json(storage.level_dir(
      exp.run_dir, 0, 1) / 'summary.json')
  assert last['imp_acc_mean'] == imp_level['early_stop_test_acc']
  assert last['vs_imp'].endswith('(insufficient replicates)')
  assert early_masking_report.arm_cell(last, 'imp').startswith(
      f"{100 * imp_level['early_stop_test_acc']:.2f} (")
  est_row = early_masking_report.estimate_row(exp, plan, est)
  steps = [int(x) for x in est_row['timing_points'].split()]
  assert steps == sorted(steps) and {0, 5, 10, 20} <= set(steps)
  assert est_row['learning_rate'] == exp.config.training.learning_rate
  assert est['heat_steps'][:4] == [0, 5, 10, 20]
  assert est['matrix'].shape == (len(est['heat_steps']),) * 2
  np.testing.assert_array_equal(np.diag(est['matrix']), 0.0)


def test_verdict_cells_judge_the_ticket_against_dense():
  def s(acc, stop):
    return {'early_stop_test_acc': acc, 'early_stop_step': stop}
  # Matches its full-mask ticket, beats its control, but is below dense:
  # not a winning ticket by the paper's definition.
  per = [{'ticket': s(a, 2000), 'full': s(f, 2500), 'control': s(c, 3000),
          'dense': s(d, 3000)}
         for a, f, c, d in ((.9688, .9687, .9409, .9772),
                            (.9696, .9692, .9427, .9750),
                            (.9706, .9699, .9458, .9797))]
  cells = early_masking_report.verdict_cells(per)
  assert cells['winning_ticket'] == 'does not win'
  assert cells['vs_dense'].endswith('(worse)')
  assert cells['vs_full'].endswith('(indistinguishable)')
  assert cells['vs_control'].endswith('(better)')
  above = [dict(x, dense=s(x['ticket']['early_stop_test_acc'] - .001, 3000))
           for x in per]
  assert early_masking_report.verdict_cells(above)['winning_ticket'] == 'wins'
  assert cells['vs_imp'] is None  # no IMP level trained
  imp = [dict(x, imp=s(x['ticket']['early_stop_test_acc'] + .003, 1500))
         for x in per]
  assert early_masking_report.verdict_cells(imp)['vs_imp'].endswith(
      '(worse)')
  missing = [dict(x, ticket=None) for x in per]
  assert early_masking_report.verdict_cells(missing)['vs_dense'] is None


class Killed(Exception):
  pass


def test_kill_and_resume_a_timing_sweep(trunk, oneshot, tmp_path,
                                        monkeypatch):
  """Killed in the replay and again among the tickets, it ends identical."""
  shutil.copytree(trunk, tmp_path, dirs_exist_ok=True)
  real_save = checkpoints.save_checkpoint
  calls = []

  def save_then_die(*args, **kwargs):
    real_save(*args, **kwargs)
    calls.append(1)
    if len(calls) in (1, 7):  # replay at step 10; all 6 tickets at step 10
      raise Killed()

  monkeypatch.setattr(checkpoints, 'save_checkpoint', save_then_die)
  config = masking_config(checkpoint_every='10it')
  for _ in range(2):
    with pytest.raises(Killed):
      em.run(config, str(tmp_path), dataset=tiny_dataset())
  exp = Experiment.setup(trunk_config(), str(tmp_path), tiny_dataset())
  assert (em.capture_dir(exp, 0) / 'step_10').is_dir()
  assert not (em.em_dir(exp) / 'oneshot' / 'level_1' / 'replicate_0' /
              't_0' / 'summary.json').exists()
  monkeypatch.setattr(checkpoints, 'save_checkpoint', real_save)
  em.run(config, str(tmp_path), dataset=tiny_dataset())
  ref = outputs(em.em_dir(oneshot[1]))
  assert ref == outputs(em.em_dir(exp))


def test_iterative_masks_come_from_step_t_of_the_previous_level(
    trunk, tmp_path):
  shutil.copytree(trunk, tmp_path, dirs_exist_ok=True)
  c = masking_config(mode='iterative', targets='0.64',
                     iterative_timing='absolute', iterative_points='10')
  with c.unlocked():
    c.trunk.pruning.levels = 1
  em.run(c, str(tmp_path), dataset=tiny_dataset())
  exp = Experiment.setup(trunk_config(), str(tmp_path), tiny_dataset())
  dense = exp.dense_masks(exp.init_variables(0)['params'])
  strategy = strategies.get_strategy('layerwise')
  level1 = em.iterative_dir(exp, 10, 0, 1)
  level2 = em.iterative_dir(exp, 10, 0, 2)
  assert storage.read_json(level1 / 'mask_source.json') == {'step': 10}
  w10 = storage.load_tree(em.capture_dir(exp, 0) / 'step_10')
  m1 = storage.load_tree(level1 / 'masks', dense)
  expected1 = strategy(w10['params'], dense, exp.config.pruning, 1)
  assert pruning.hamming_distance(m1, expected1) == 0.0
  src = storage.load_tree(level1 / 'mask_source')
  m2 = storage.load_tree(level2 / 'masks', dense)
  expected2 = strategy(src['params'], m1, exp.config.pruning, 2)
  assert pruning.hamming_distance(m2, expected2) == 0.0
  assert (level2 / 'summary.json').exists()
  assert not (level1 / 'captures').exists()


@pytest.mark.parametrize('field,value,match', [
    ('timing_points', '0,5,500', 'beyond the training length'),
    ('targets', '0.5,1.2', r'outside \(0, 1\)'),
    ('targets', '0', r'outside \(0, 1\)'),
    ('early_bird_window', 1, 'integer >= 2'),
    ('mode', 'later', 'unknown'),
])
def test_bad_input_touches_nothing(trunk, tmp_path, field, value, match):
  shutil.copytree(trunk, tmp_path, dirs_exist_ok=True)
  before = outputs(tmp_path)
  listing = sorted(str(p) for p in tmp_path.rglob('*'))
  with pytest.raises(ValueError, match=match):
    em.run(masking_config(**{field: value}), str(tmp_path),
           dataset=tiny_dataset())
  assert outputs(tmp_path) == before
  assert sorted(str(p) for p in tmp_path.rglob('*')) == listing


def test_trunk_with_another_config_is_refused(trunk, tmp_path):
  shutil.copytree(trunk, tmp_path, dirs_exist_ok=True)
  listing = sorted(str(p) for p in tmp_path.rglob('*'))
  other = trunk_config(training__learning_rate=3e-4)
  with pytest.raises(ValueError, match='another config.*learning_rate'):
    em.run(masking_config(trunk=other), str(tmp_path),
           dataset=tiny_dataset())
  assert sorted(str(p) for p in tmp_path.rglob('*')) == listing


@pytest.mark.parametrize('name', [
    'conv6', pytest.param('vgg19', marks=pytest.mark.skipif(
        not os.environ.get('LTH_SLOW_TESTS'),
        reason='about 100 s of CPU (VGG-19 compiles on CPU); set '
        'LTH_SLOW_TESTS=1; the VGG-19 IMP config runs one level in '
        'tests/configs/test_cifar_configs.py'))])
def test_cifar_presets_run_one_level_on_generated_data(name, tmp_path):
  module = importlib.import_module(f'configs.early_masking_{name}_cifar10')
  c = module.get_config('preset=test')
  assert c.trunk.data.name == 'synthetic_cifar10'
  em.run(c, str(tmp_path))
  exp = Experiment.setup(c.trunk, str(tmp_path))
  done = list((em.em_dir(exp) / 'oneshot').rglob('summary.json'))
  assert len(done) == len(c.masking.timing_points.split(','))
  assert list((em.em_dir(exp) / 'controls').rglob('summary.json'))
  assert storage.read_json(em.capture_dir(exp, 0) / 'replay.json')[
      'bit_identical']


def test_lenet_config_variants():
  module = importlib.import_module('configs.early_masking_lenet300_mnist')
  shared = importlib.import_module('configs.lenet300_mnist').get_config(
      'preset=lth,replicates=3')
  fc = module.get_config('preset=lth,lr=1.2e-3,replicates=3')
  assert lottery.run_hash(fc.trunk) == lottery.run_hash(shared)
  proposal = module.get_config('preset=lth')
  assert proposal.trunk.training.learning_rate == 3e-4
  assert lottery.run_hash(proposal.trunk) != lottery.run_hash(shared)
  with pytest.raises(ValueError, match='lr='):
    module.get_config('lr=1e-2')


@pytest.mark.parametrize('name', ['conv6', 'vgg19'])
def test_cifar_configs_wrap_their_trunk_config(name):
  module = importlib.import_module(f'configs.early_masking_{name}_cifar10')
  trunk_module = importlib.import_module(f'configs.{name}_cifar10')
  c = module.get_config('preset=cpu,replicates=2,mode=iterative')
  assert c.trunk.to_dict() == trunk_module.get_config(
      'preset=cpu,replicates=2').to_dict()
  assert (c.masking.mode, c.masking.targets) == ('iterative', '0.2,0.1')
  assert module.get_config('preset=test').masking.targets == '0.5'
  with pytest.raises(ValueError, match='unknown config options'):
    module.get_config('preset=cpu,lr=3e-4')
