"""Pruning-at-init branches and the sanity checks (lottery.init_pruning)."""
import jax
import numpy as np
import pytest

from lth_jax import lottery
from lth_jax import pruning
from lth_jax.lottery import branches
from lth_jax.lottery import experiment
from lth_jax.studies.init_pruning import runner as init_pruning
from lth_jax.runs import storage

from conftest import tiny_config
from conftest import tiny_dataset


def config():
  return tiny_config(levels=2, steps='10it', checkpoint_every='0it',
                     training__eval_every='10it')


@pytest.fixture(scope='module')
def trunk(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('trunk'))
  lottery.run(config(), workdir, dataset=tiny_dataset())
  exp = experiment.Experiment.setup(config(), workdir, tiny_dataset())
  return workdir, exp, branches.trunk_start(exp, 0, 2)


def counts(masks):
  return [int(m.sum()) for m in pruning.masks.mask_leaves(masks)]


def control(trunk, name):
  _, exp, start = trunk
  return branches.get_branch(name)(exp, 0, jax.random.key(5), start)


def test_methods_match_the_trunk_counts(trunk):
  _, _, start = trunk
  want = counts(start.masks)
  for name in ('snip', 'synflow', 'magnitude_init'):
    variables, masks = control(trunk, name)
    assert sum(counts(masks)) == sum(want), name
    assert variables is start.variables  # pruning at init: the init
  _, layer = control(trunk, 'snip_layer')
  assert counts(layer) == want
  _, snip = control(trunk, 'snip')
  _, inverted = control(trunk, 'snip_inverted')
  # Inverting keeps what SNIP prunes: the kept sets barely overlap.
  overlap = sum(int((a & b).sum()) for a, b in zip(
      pruning.masks.mask_leaves(snip), pruning.masks.mask_leaves(inverted)))
  assert overlap < .5 * sum(counts(snip))


def test_ablations_of_the_ticket(trunk):
  _, _, start = trunk
  variables, shuffled = control(trunk, 'imp_shuffled')
  assert counts(shuffled) == counts(start.masks)
  assert variables is start.variables
  assert any(not np.array_equal(a, b) for a, b in zip(
      pruning.masks.mask_leaves(shuffled),
      pruning.masks.mask_leaves(start.masks)))
  fresh, masks = control(trunk, 'imp_reinit')
  assert masks is start.masks
  assert not np.array_equal(fresh['params']['hidden_0']['kernel'],
                            start.variables['params']['hidden_0']['kernel'])


def test_run_branches_trains_only_the_chosen_levels(trunk):
  workdir, exp, _ = trunk
  out = init_pruning.run_branches(config(), workdir, ['snip_shuffled'], '2',
                                  dataset=tiny_dataset())
  assert [r['level'] for r in out['snip_shuffled']] == [2]
  assert not storage.level_done(exp.run_dir, 0, 1, 'snip_shuffled')
  with pytest.raises(ValueError, match='outside 1..2'):
    init_pruning.run_branches(config(), workdir, ['snip'], '3',
                              dataset=tiny_dataset())
  with pytest.raises(ValueError, match='unknown branch'):
    init_pruning.run_branches(config(), workdir, ['snipp'], '2')
