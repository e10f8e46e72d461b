"""Every export format of one run level, read back and checked."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from safetensors import numpy as st_numpy

from lth_jax import errors
from lth_jax import models
from lth_jax.export import formats
from lth_jax.export import runs
from lth_jax.export import sparse24
from lth_jax.export import ticket as ticket_lib
from lth_jax.export import torch_format
from lth_jax.runs import storage
from lth_jax.pruning import structured


@pytest.fixture(name='run', scope='module')
def fixture_run(tmp_path_factory):
  """A LeNet run directory whose level 2 holds a 2:4 mask."""
  rng = np.random.default_rng(0)
  sizes = (784, 300, 100, 10)
  names = ('hidden_0', 'hidden_1', 'output')
  params = {n: {'kernel': rng.normal(0, .1, (a, b)).astype(np.float32),
                'bias': rng.normal(0, .1, b).astype(np.float32)}
            for n, a, b in zip(names, sizes, sizes[1:])}
  masks = {n: {'kernel': np.asarray(structured.n_m_mask(
      jnp.abs(p['kernel']), rng.random(p['kernel'].shape) < .3, 2, 4)),
               'bias': None} for n, p in params.items()}
  run = tmp_path_factory.mktemp('runs') / 'abc'
  level = storage.level_dir(run, 0, 2)
  storage.save_tree(level / 'trained', {'params': params})
  storage.save_tree(level / 'masks', masks)
  storage.write_json(run / 'config.json', {'model': 'lenet300_100',
                                           'model_kwargs': {}})
  return run, params, masks


def masked_logits(params, masks, x):
  h = x.reshape(len(x), -1)
  for n in ('hidden_0', 'hidden_1', 'output'):
    h = h @ (params[n]['kernel'] * masks[n]['kernel']) + params[n]['bias']
    h = np.maximum(h, 0) if n != 'output' else h
  return h


@pytest.mark.parametrize('fmt', formats.FORMATS)
def test_each_format_reads_back_to_the_ticket(run, tmp_path, fmt):
  run_dir, params, masks = run
  out = tmp_path / f'l2{formats.SUFFIX[fmt]}'
  s = formats.export(run_dir, 2, fmt, out, input_shape=(28, 28, 1))
  kept = sum(int(m['kernel'].sum()) for m in masks.values())
  assert s['kept'] == kept and s['prunable'] == 266200
  line = formats.summary_line(s)
  assert '\n' not in line and s['sha256'][:16] in line
  x = np.random.default_rng(1).random((16, 28, 28, 1), np.float32)
  want = masked_logits(params, masks, x)
  if fmt in ('ticket', 'slim'):
    t = ticket_lib.load_ticket(out)
    model, variables = runs.to_flax(t)
    if fmt == 'slim':
      x = x.reshape(16, -1)[:, t.config['inputs']]
    got = jax.jit(model.apply)(variables, x)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-5)
  elif fmt == 'torch':
    tensors, _ = torch_format.load_torch(out)
    np.testing.assert_array_equal(tensors['hidden_0.weight_mask'] != 0,
                                  masks['hidden_0']['kernel'].T)
  elif fmt == 'nm24':
    tensors = st_numpy.load_file(out)
    p = sparse24.Packed24(tensors['params/hidden_1/kernel.values'],
                          tensors['params/hidden_1/kernel.metadata'],
                          (300, 100))
    np.testing.assert_array_equal(
        sparse24.decompress(p),
        params['hidden_1']['kernel'] * masks['hidden_1']['kernel'])
  else:
    pytest.importorskip('torch')
    from lth_jax.export import open_lth  # pylint: disable=import-outside-toplevel
    variables, got_masks = open_lth.read('mnist_lenet_300_100',
                                         out / 'model_ep0_it0.pth',
                                         out / 'mask.pth')
    got = jax.jit(models.get_model('lenet300_100').apply)(variables, x)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(got_masks['output']['kernel'],
                                  masks['output']['kernel'])


def test_unknown_format_is_named(run, tmp_path):
  with pytest.raises(ValueError, match='unknown format'):
    formats.export(run[0], 2, 'onnx', tmp_path / 'x')


@pytest.mark.parametrize('fmt,level', [('nm24', 3), ('ticket', 4),
                                       ('torch', 4)])
def test_a_failed_export_is_one_line_and_writes_nothing(run, tmp_path, fmt,
                                                         level):
  """Level 3's masks are not 2:4; level 4's do not fit the model."""
  run_dir, params, masks = run
  rng = np.random.default_rng(level)
  bad = {n: {'kernel': rng.random(m['kernel'].shape) < .3, 'bias': None}
         for n, m in masks.items()}
  if level == 4:
    bad['hidden_1']['kernel'] = bad['hidden_1']['kernel'][:, :50]
  d = storage.level_dir(run_dir, 0, level)
  if not storage.level_done(run_dir, 0, level):
    storage.save_tree(d / 'trained', {'params': params})
    storage.save_tree(d / 'masks', bad)
  out = tmp_path / 'out' / f'x{formats.SUFFIX[fmt]}'
  with pytest.raises(errors.InputError) as e:
    formats.export(run_dir, level, fmt, out)
  assert '\n' not in str(e.value)
  assert ('is not 2:4' if level == 3 else 'the mask of') in str(e.value)
  assert not out.exists()
  assert not out.parent.exists() or not any(out.parent.iterdir())
