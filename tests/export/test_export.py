"""Tickets as files and as sparse networks: exact round trips, bad files."""
import json
import pathlib
import struct

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import export
from lth_jax.export import ticket as ticket_lib
from lth_jax import models
from lth_jax import pruning
from lth_jax.runs import storage


def lenet_ticket(density: float, seed: int = 0):
  """LeNet-300-100 variables and an exact random mask at ``density``."""
  model = models.get_model('lenet300_100')
  variables = model.init(jax.random.key(seed), jnp.zeros((1, 28, 28, 1)))
  variables = jax.tree.map(np.asarray, variables)
  rng = np.random.default_rng(seed)

  def mask(path, x):
    if not path.endswith('kernel'):
      return None
    m = np.zeros(x.size, bool)
    m[rng.choice(x.size, round(density * x.size), replace=False)] = True
    return m.reshape(x.shape)

  masks = pruning.tree_paths.map_with_path(mask, variables['params'])
  return model, variables, masks


def test_bits_pack_exactly_and_only_kept_values_are_stored(tmp_path):
  mask = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1]], bool)  # 9 bits.
  values = np.arange(9, dtype=np.float32).reshape(3, 3) + 0.5
  variables = {'params': {'d': {'kernel': values, 'bias': np.ones(3,
                                                                  np.float32)}}}
  n = export.save_ticket(tmp_path / 't.lth', variables,
                         {'d': {'kernel': mask, 'bias': None}}, model='mlp')
  t = export.load_ticket(tmp_path / 't.lth')
  got, got_mask = t.leaves['params/d/kernel']
  np.testing.assert_array_equal(got_mask, mask)
  np.testing.assert_array_equal(got, np.where(mask, values, 0))
  assert t.leaves['params/d/bias'][1] is None
  assert t.kept() == 4
  data = tmp_path.joinpath('t.lth').read_bytes()
  assert len(data) == n
  start = len(ticket_lib.MAGIC) + 8
  (length,) = struct.unpack_from('<Q', data, len(ticket_lib.MAGIC))
  header = json.loads(data[start:start + length])
  kernel = next(e for e in header['leaves'] if e['path'].endswith('kernel'))
  assert kernel['value_bytes'] == 4 * 4  # the 4 kept float32 values only.
  assert kernel['kept'] == 4


@pytest.mark.parametrize('density', [0.036, 0.5])
def test_round_trip_is_exact_and_predictions_identical(tmp_path, density):
  model, variables, masks = lenet_ticket(density)
  path = tmp_path / 'ticket.lth'
  export.save_ticket(path, variables, masks, model='lenet300_100',
                     config={'input_shape': [28, 28, 1]})
  t = export.load_ticket(path)
  loaded_model, loaded = export.to_flax(t)
  want = pruning.apply_masks(variables['params'], masks)
  for a, b in zip(jax.tree.leaves(want), jax.tree.leaves(loaded['params'])):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert np.asarray(a).dtype == np.asarray(b).dtype
  assert jax.tree.structure(t.masks()['params'], is_leaf=lambda x: x is None
                            ) == jax.tree.structure(
                                masks, is_leaf=lambda x: x is None)
  x = jax.random.normal(jax.random.key(1), (64, 28, 28, 1))
  dense = model.apply({'params': want}, x)
  np.testing.assert_array_equal(np.asarray(loaded_model.apply(loaded, x)),
                                np.asarray(dense))


@pytest.mark.parametrize('density', [0.01, 0.21])
def test_bcoo_forward_equals_the_dense_masked_forward(density):
  model, variables, masks = lenet_ticket(density, seed=2)
  t = export.decode(export.encode(variables, masks, model='lenet300_100'))
  kernels = export.bcoo_kernels(t)
  assert sorted(kernels) == ['params/hidden_0/kernel',
                             'params/hidden_1/kernel', 'params/output/kernel']
  for path, m in kernels.items():
    values, mask = t.leaves[path]
    assert m.nse == mask.sum()
    np.testing.assert_array_equal(np.asarray(m.todense()), values)
  x = jax.random.normal(jax.random.key(3), (200, 28, 28, 1))
  dense = np.asarray(model.apply(
      {'params': pruning.apply_masks(variables['params'], masks)}, x))
  sparse = np.asarray(export.mlp_forward(export.sparse_mlp(t), x))
  np.testing.assert_allclose(sparse, dense, rtol=1e-5, atol=1e-5)
  np.testing.assert_array_equal(sparse.argmax(1), dense.argmax(1))


def test_ticket_is_small_against_the_dense_checkpoint(tmp_path):
  _, variables, masks = lenet_ticket(0.036)
  storage.save_tree(tmp_path / 'dense', variables)
  dense_bytes = sum(p.stat().st_size for p in (tmp_path / 'dense').rglob('*')
                    if p.is_file())
  n = export.save_ticket(tmp_path / 't.lth', variables, masks,
                         model='lenet300_100')
  assert n < 0.08 * dense_bytes, (n, dense_bytes)


@pytest.mark.parametrize('damage', ['truncate', 'flip', 'extend', 'empty'])
def test_corrupt_or_truncated_file_is_an_error_naming_it(tmp_path, damage):
  _, variables, masks = lenet_ticket(0.1)
  path = tmp_path / 'ticket.lth'
  n = export.save_ticket(path, variables, masks, model='lenet300_100')
  data = bytearray(path.read_bytes())
  if damage == 'truncate':
    data = data[:n // 2]
  elif damage == 'flip':
    data[n // 2] ^= 0x10
  elif damage == 'extend':
    data += b'\0'
  else:
    data = b''
  path.write_bytes(bytes(data))
  with pytest.raises(export.CorruptTicketError, match=str(path)):
    export.load_ticket(path)


def test_missing_file_and_mismatched_model_are_clear_errors(tmp_path):
  with pytest.raises(export.CorruptTicketError, match='nothing.lth'):
    export.load_ticket(tmp_path / 'nothing.lth')
  _, variables, masks = lenet_ticket(0.1)
  t = export.decode(export.encode(variables, masks, model='mlp',
                                  model_kwargs={'hidden': [300, 50]},
                                  config={'input_shape': [28, 28, 1]}))
  with pytest.raises(ValueError,
                     match=r'hidden_1/bias.*float32\(100,\) in the ticket'):
    export.to_flax(t)


def test_export_level_of_a_run_directory(tmp_path):
  model, variables, masks = lenet_ticket(0.2, seed=4)
  run = tmp_path / 'abc123'
  level = storage.level_dir(run, 0, 3)
  storage.save_tree(level / 'trained', {'params': variables['params'],
                                        'batch_stats': {}})
  storage.save_tree(level / 'masks', masks)
  storage.write_json(run / 'config.json', {'model': 'lenet300_100',
                                           'model_kwargs': {}})
  out = tmp_path / 'l3.lth'
  export.export_level(run, 0, 3, out, input_shape=(28, 28, 1))
  t = export.load_ticket(out)
  assert t.config['level'] == 3 and t.model == 'lenet300_100'
  _, loaded = export.to_flax(t)
  x = jax.random.normal(jax.random.key(5), (8, 28, 28, 1))
  np.testing.assert_array_equal(
      np.asarray(model.apply(loaded, x)),
      np.asarray(model.apply(
          {'params': pruning.apply_masks(variables['params'], masks)}, x)))
  assert pathlib.Path(out).stat().st_size < 0.3 * sum(
      x.nbytes for x in jax.tree.leaves(variables))
