"""Structure of MLP tickets: hand-built masks with known answers, and the
vectorised analysis against the networkx reading on random masks."""
import json
import re

import numpy as np
import pytest

from lth_jax.analysis import structure
from lth_jax.studies.structure import levels as structure_levels

nx = pytest.importorskip('networkx')
from lth_jax.analysis import structure_nx  # pylint: disable=g-import-not-at-top,wrong-import-position

P, I, Z, A = (structure.PRUNED, structure.INACTIVE, structure.ZOMBIE,
              structure.ACTIVE)
MOONS_TASKS = [('circles', (0, 2), [0]), ('moons', (2, 4), [1])]


def edges(shape, *pairs):
  k = np.zeros(shape, bool)
  for i, j in pairs:
    k[i, j] = True
  return k


def two_task_net(cross: bool = False, drop_input: bool = False):
  """4 -> 4 -> 3 -> 2. Inputs 0,1 -> h0 -> g0 -> out 0; inputs 2,3 -> h1 ->
  g1 -> out 1. h2 gets input 0 but leads nowhere (inactive); g2 has no
  input but feeds out 1 (zombie); h3 touches nothing (pruned)."""
  k0 = edges((4, 4), (0, 0), (1, 0), (2, 1), (3, 1), (0, 2))
  if drop_input:
    k0[3, 1] = False
  k1 = edges((4, 3), (0, 0), (1, 1))
  if cross:
    k1[0, 1] = True   # h0 -> g1 joins the two tasks
  k2 = edges((3, 2), (0, 0), (1, 1), (2, 1))
  return {'hidden_0': {'kernel': k0, 'bias': None},
          'hidden_1': {'kernel': k1, 'bias': None},
          'output': {'kernel': k2, 'bias': None}}


def test_known_separated_network():
  s = structure.analyse(two_task_net(), MOONS_TASKS)
  assert s.sizes == (4, 4, 3, 2)
  assert [c.tolist() for c in s.neuron_classes] == [
      [A, A, A, A], [A, A, I, P], [A, A, Z], [A, A]]
  assert s.kept_weights.tolist() == [5, 2, 3]
  assert s.active_weights.tolist() == [4, 2, 2]
  assert s.inactive_weights.tolist() == [1, 0, 0]
  assert s.zombie_weights.tolist() == [0, 0, 1]
  assert s.num_components == 2 and s.state == 'separated'
  np.testing.assert_array_equal(s.coverage, np.eye(2))
  assert s.component_weights.tolist() == [4, 4]
  assert s.component_neurons.tolist() == [[2, 1, 1, 1], [2, 1, 1, 1]]
  assert s.component_of[1].tolist() == [0, 1, -1, -1]
  np.testing.assert_array_equal(s.single_task_share, [1, 1, 1, 1])
  wc = structure.weight_classes(two_task_net(), s)
  assert wc[0][0, 2] == I and wc[2][2, 1] == Z and wc[1][0, 0] == A
  assert wc[1][0, 1] == P


def test_known_interconnected_network_and_task_shares():
  s = structure.analyse(two_task_net(cross=True), MOONS_TASKS)
  assert s.num_components == 1 and s.state == 'interconnected'
  np.testing.assert_array_equal(s.coverage, [[1, 1]])
  # h0 -> g1 carries circles into g1 and output 1 (input view) and lets
  # inputs 0, 1 and h0 reach both outputs (output view).
  assert s.single_task_share_inputs.tolist() == [1, 1, 0.5, 0.5]
  assert s.single_task_share_outputs.tolist() == [0.5, 0.5, 1, 1]
  assert s.single_task_share.tolist() == [0.5, 0.5, 0.5, 0.5]


def test_known_degraded_network_and_the_outputs_rule():
  net = two_task_net(drop_input=True)
  s = structure.analyse(net, MOONS_TASKS)
  assert s.state == 'degraded'
  assert s.neuron_classes[0].tolist() == [A, A, A, P]
  np.testing.assert_array_equal(s.coverage, [[1, 0], [0, 0.5]])
  # The thesis's MNIST rule judges the outputs only: still separated.
  assert structure.analyse(net, MOONS_TASKS, coverage='outputs'
                           ).state == 'separated'


def test_lost_output_degrades_under_both_rules():
  net = two_task_net()
  net['output']['kernel'][:, 1] = False
  for rule in structure.COVERAGE_RULES:
    s = structure.analyse(net, MOONS_TASKS, coverage=rule)
    assert s.state == 'degraded'
    assert s.neuron_classes[3].tolist() == [A, P]


def test_zombies_driving_follows_the_bias_rule():
  net = two_task_net()
  biases = [np.zeros(4), np.array([0., 0., 0.5]), np.zeros(2)]
  s = structure.analyse(net, MOONS_TASKS, biases=biases)
  assert s.zombies_driving.tolist() == [0, 0, 1, 0]
  s = structure.analyse(net, MOONS_TASKS, biases=[np.zeros(4), np.zeros(3),
                                                  np.zeros(2)])
  assert s.zombies_driving.tolist() == [0, 0, 0, 0]
  # From a params tree, in layer order.
  params = {k: {'kernel': v['kernel'], 'bias': b}
            for (k, v), b in zip(two_task_net().items(), biases)}
  assert structure.analyse(net, MOONS_TASKS, biases=params
                           ).zombies_driving.tolist() == [0, 0, 1, 0]


def test_states_and_run_outcomes():
  states = ['interconnected', 'interconnected', 'separated', 'degraded']
  assert structure.first_level(states, 'separated') == 2
  assert structure.first_level(states, 'degraded') == 3
  assert structure.run_outcome(states) == 'separated-degraded'
  assert structure.run_outcome(states[:3]) == 'separated'
  assert structure.run_outcome(['degraded', 'separated']) == 'degraded'
  assert structure.run_outcome(states[:2]) == 'interconnected'


def random_net(rng, shape, density):
  return [rng.random((a, b)) < density for a, b in zip(shape, shape[1:])]


def assert_same_as_networkx(kernels, tasks, rule='inputs_outputs'):
  s = structure.analyse(kernels, tasks, coverage=rule)
  ref = structure_nx.reference_reading(kernels, tasks, coverage=rule)
  got = {(l, i): int(c) for l, cs in enumerate(s.neuron_classes)
         for i, c in enumerate(cs)}
  assert got == ref['classes']
  wc = structure.weight_classes(kernels, s)
  got_w = {((l, int(i)), (l + 1, int(j))): int(c[i, j])
           for l, c in enumerate(wc) for i, j in zip(*np.nonzero(c != P))}
  assert got_w == ref['weight_classes']
  comps = [{(l, i) for l, c in enumerate(s.component_of)
            for i in np.nonzero(c == k)[0]} for k in range(s.num_components)]
  assert sorted(comps, key=min) == ref['components']
  order = sorted(range(len(comps)), key=lambda k: min(comps[k]))
  np.testing.assert_allclose(s.coverage_in[order], ref['coverage_in'])
  np.testing.assert_allclose(s.coverage_out[order], ref['coverage_out'])
  assert s.state == ref['state']
  for name, counts in (('active', s.active_weights), ('zombie',
                                                      s.zombie_weights),
                       ('inactive', s.inactive_weights)):
    code = structure.CLASS_NAMES.index(name)
    assert counts.sum() == sum(v == code for v in ref['weight_classes']
                               .values())
  return s


@pytest.mark.parametrize('seed', range(12))
def test_random_masks_match_networkx(seed):
  rng = np.random.default_rng(seed)
  shape = [4] + list(rng.integers(3, 12, size=int(rng.integers(1, 4)))) + [2]
  density = [0.15, 0.3, 0.5][seed % 3]
  kernels = random_net(rng, shape, density)
  s = assert_same_as_networkx(kernels, MOONS_TASKS)
  assert_same_as_networkx(kernels, MOONS_TASKS, rule='outputs')
  assert s.state in structure.STATES


def test_random_wide_masks_match_networkx_with_index_tasks():
  rng = np.random.default_rng(7)
  seen = set()
  for trial in range(30):
    kernels = random_net(rng, [12, 10, 10, 4], 0.12 + 0.01 * (trial % 5))
    tasks = [('a', [0, 2, 4, 6, 8, 10], (0, 2)),
             ('b', [1, 3, 5, 7, 9, 11], (2, 4))]
    seen.add(assert_same_as_networkx(kernels, tasks, rule='outputs').state)
  # The draws cover more than one state (not a vacuous comparison).
  assert len(seen) >= 2, seen


def test_block_diagonal_masks_separate_at_scale():
  rng = np.random.default_rng(0)
  k0 = np.zeros((40, 30), bool)
  k0[:20, :15] = rng.random((20, 15)) < 0.5
  k0[20:, 15:] = rng.random((20, 15)) < 0.5
  k1 = np.zeros((30, 4), bool)
  k1[:15, :2] = True
  k1[15:, 2:] = True
  s = structure.analyse([k0, k1], [('a', (0, 20), (0, 2)),
                                   ('b', (20, 40), (2, 4))],
                        coverage='outputs')
  assert s.state == 'separated' and s.num_components == 2
  k1[0, 3] = True
  s = structure.analyse([k0, k1], [('a', (0, 20), (0, 2)),
                                   ('b', (20, 40), (2, 4))],
                        coverage='outputs')
  assert s.state == 'interconnected' and s.num_components == 1


@pytest.mark.parametrize('masks, message', [
    ({'Conv_0': {'kernel': np.ones((3, 3, 1, 4), bool)},
      'Dense_0': {'kernel': np.ones((4, 2), bool)}},
     "mask leaf 'Conv_0/kernel' has shape (3, 3, 1, 4)"),
    ({'dense_0': {'kernel': np.ones((4, 3), bool)},
      'dense_1': {'kernel': np.ones((3, 2), bool)},
      'skip': {'kernel': np.ones((4, 2), bool)}},
     "mask leaf 'skip/kernel' takes 4 inputs but 'dense_1/kernel' gives 2"),
    ({'dense_0': {'kernel': np.ones((4, 2), bool)},
      'norm': {'scale': np.ones(2, bool)}},
     "mask leaf 'norm/scale' (shape (2,)) is not a dense kernel"),
    ({'dense_0': {'bias': None}}, 'has no dense kernel'),
])
def test_non_mlp_masks_are_one_line_errors(masks, message):
  with pytest.raises(structure.StructureError, match=re.escape(message)) as e:
    structure.analyse(masks, MOONS_TASKS)
  assert '\n' not in str(e.value)


@pytest.mark.parametrize('tasks, message', [
    ([('circles', (0, 2), [0]), ('moons', (2, 5), [1])],
     r"task 'moons' inputs range \(2, 5\) is not within the 4"),
    ([('circles', (0, 2), [0]), ('moons', (1, 4), [1])],
     "task 'moons' inputs overlap task 'circles' at index 1"),
    ([('circles', (0, 2), [0]), ('moons', (2, 3), [1])],
     "inputs ranges do not cover the 4 inputs: index 3 is in no task"),
    ([('circles', (0, 2), [0]), ('moons', (2, 4), [0])],
     "task 'moons' outputs overlap task 'circles' at index 0"),
    ([('circles', (0, 2), [0]), ('moons', (2, 4), [2])],
     "task 'moons' outputs index 2 is not within the 2"),
    ([], 'no tasks given'),
])
def test_tasks_must_split_inputs_and_outputs(tasks, message):
  with pytest.raises(structure.StructureError, match=message) as e:
    structure.analyse(two_task_net(), tasks)
  assert '\n' not in str(e.value)


def test_networkx_export_and_graphml(tmp_path):
  net = two_task_net()
  s = structure.analyse(net, MOONS_TASKS)
  g = structure_nx.to_networkx(net, s, MOONS_TASKS)
  assert g.number_of_nodes() == sum(int((c == A).sum())
                                    for c in s.neuron_classes)
  assert g.number_of_edges() == int(s.active_weights.sum())
  assert nx.number_weakly_connected_components(g) == s.num_components
  assert g.nodes[(0, 3)]['task'] == 'moons'
  full = structure_nx.to_networkx(net, s, MOONS_TASKS, only_active=False)
  assert full.number_of_edges() == int(s.kept_weights.sum())
  assert full.nodes[(2, 2)]['cls'] == 'zombie'
  path = tmp_path / 'ticket.graphml'
  structure_nx.write_graphml(g, path)
  back = nx.read_graphml(path)
  assert back.number_of_edges() == g.number_of_edges()
  assert back.nodes['3:1']['component'] == 1


def test_summary_is_json():
  s = structure.analyse(two_task_net(cross=True), MOONS_TASKS)
  d = json.loads(json.dumps(structure.summary(s)))
  assert d['state'] == 'interconnected' and d['weights']['active'] == 9
  assert d['neurons']['zombie'] == [0, 0, 1, 0]


def test_missing_or_corrupt_level_names_the_directory(tmp_path):
  from lth_jax import files  # pylint: disable=import-outside-toplevel
  from lth_jax.runs import storage  # pylint: disable=import-outside-toplevel
  net = two_task_net()
  like = {'masks': net, 'variables': {'params': {
      k: {'kernel': v['kernel'].astype(np.float32),
          'bias': np.zeros(v['kernel'].shape[1], np.float32)}
      for k, v in net.items()}, 'batch_stats': {}}}
  level = storage.level_dir(tmp_path, 0, 1)
  with pytest.raises(structure_levels.LevelReadError,
                     match=f'level directory {level} is missing'):
    structure_levels.analyse_levels(tmp_path, 0, like, MOONS_TASKS, [1])
  storage.save_tree(level / 'masks', net)
  storage.save_tree(level / 'trained', like['variables'])
  storage.write_json(level / 'summary.json', {})
  [s] = structure_levels.analyse_levels(tmp_path, 0, like, MOONS_TASKS, [1])
  assert s.state == 'separated'
  digest = level / 'masks' / files.DIGEST_FILE
  digest.write_text(json.dumps({'sha256': '0' * 64}))
  with pytest.raises(structure_levels.LevelReadError,
                     match=f'level directory {level} holds a corrupt tree'):
    structure_levels.analyse_levels(tmp_path, 0, like, MOONS_TASKS, [1])
