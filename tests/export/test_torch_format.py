"""PyTorch export: every tensor of every model family, torch predictions."""
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import models
from lth_jax.export import runs
from lth_jax.export import ticket as ticket_lib
from lth_jax.export import torch_format

st_numpy = pytest.importorskip('safetensors.numpy')

# One model per family, with a small input: (name, kwargs, input).
FAMILIES = [
    ('lenet300_100', {}, np.zeros((1, 28, 28, 1), np.float32)),
    ('conv2', {}, np.zeros((1, 8, 8, 3), np.float32)),
    ('resnet20', {}, np.zeros((1, 8, 8, 3), np.float32)),
    ('text_cnn_ensemble', {'vocab_size': 30, 'embed_dim': 4},
     np.zeros((1, 30), np.int32)),
]


def random_ticket(name, kwargs, x, density=0.3, seed=0):
  """Random values (from the model's shapes) and masks on its kernels."""
  model = models.get_model(name, **kwargs)
  shapes = jax.eval_shape(model.init, jax.random.key(0), x)
  rng = np.random.default_rng(seed)
  leaves = {}
  for path, s in ticket_lib.flat_paths(shapes).items():
    values = .1 * rng.standard_normal(s.shape, np.float32)
    if path.endswith('/var'):
      values = np.abs(values) + .5
    mask = (rng.random(s.shape) < density) if path.endswith('kernel') else None
    leaves[path] = (values if mask is None else values * mask, mask)
  return ticket_lib.Ticket(name, kwargs, {'input_shape': list(x.shape[1:])},
                           leaves)


def torch_reference(path, values):
  """PyTorch's layout written out per rank (independent of the module)."""
  if not path.endswith('kernel'):
    return values
  return {2: lambda v: v.T, 3: lambda v: np.einsum('wio->oiw', v),
          4: lambda v: np.einsum('hwio->oihw', v)}[values.ndim](values)


@pytest.mark.parametrize('name,kwargs,x', FAMILIES,
                         ids=[f[0] for f in FAMILIES])
def test_every_tensor_in_both_layouts(tmp_path, name, kwargs, x):
  t = random_ticket(name, kwargs, x)
  torch_format.save_torch(tmp_path / 'p.safetensors', t, 'prune')
  torch_format.save_torch(tmp_path / 'w.safetensors', t, 'plain')
  prune = st_numpy.load_file(tmp_path / 'p.safetensors')
  plain = st_numpy.load_file(tmp_path / 'w.safetensors')
  _, meta = torch_format.load_torch(tmp_path / 'p.safetensors')
  names = {e['flax']: e['torch'] for e in json.loads(meta['lth_names'])}
  assert set(names) == set(t.leaves)
  masked = sum(m is not None for _, m in t.leaves.values())
  bn = sum(p.endswith('/var') for p in t.leaves)
  assert len(prune) == len(t.leaves) + masked + bn
  assert len(plain) == len(t.leaves) + bn
  for path, (values, mask) in t.leaves.items():
    if name == 'conv2' and path == 'params/dense_0/kernel':
      to_nchw = lambda v: v.reshape(4, 4, 64, -1).transpose(  # pylint: disable=cell-var-from-loop
          2, 0, 1, 3).reshape(values.shape)  # NHWC -> NCHW flatten.
    else:
      to_nchw = lambda v: v
    want = torch_reference(path, to_nchw(values))
    base = names[path].removesuffix('_orig')
    np.testing.assert_array_equal(plain[base], want)
    if mask is not None:
      assert names[path].endswith('.weight_orig')
      np.testing.assert_array_equal(prune[names[path]], want)
      np.testing.assert_array_equal(prune[base + '_mask'],
                                    torch_reference(path, to_nchw(mask)))
      assert prune[base + '_mask'].dtype == np.float32
    back = torch_format.from_torch_layout(
        path, plain[base], values.shape,
        64 if name == 'conv2' else None)
    np.testing.assert_array_equal(back, values)


@pytest.mark.parametrize('name', models.all_model_names())
def test_every_model_has_unique_names_and_torch_shapes(name):
  text = name.startswith('text')
  shape = (30,) if text else (28, 28, 1) if 'mlp' in name or 'lenet' in name \
      else (32, 32, 3)
  mapping = torch_format.layer_mapping(
      name, shape, **({'vocab_size': 30, 'embed_dim': 4} if text else {}))
  assert len({e['torch'] for e in mapping}) == len(mapping)
  for e in mapping:
    flax_shape = np.zeros(e['flax_shape'], np.uint8)
    assert list(torch_reference(e['flax'], flax_shape).shape) == e[
        'torch_shape'], e


def test_shape_mismatch_and_truncated_file_are_one_line_errors(tmp_path):
  with pytest.raises(ValueError, match=r"not this model's"):
    torch_format.from_torch_layout('params/d/kernel', np.zeros((3, 2)),
                                   (3, 2))
  with pytest.raises(ValueError, match='no PyTorch name'):
    torch_format.torch_name('params/d/weird')
  t = random_ticket(*FAMILIES[0])
  path = tmp_path / 't.safetensors'
  torch_format.save_torch(path, t)
  path.write_bytes(path.read_bytes()[:-100])
  with pytest.raises(OSError, match='not a whole safetensors file') as e:
    torch_format.load_torch(path)
  assert '\n' not in str(e.value)


def _torch_lenet(torch):
  nn = torch.nn

  class LeNet(nn.Module):

    def __init__(self):
      super().__init__()
      self.hidden_0 = nn.Linear(784, 300)
      self.hidden_1 = nn.Linear(300, 100)
      self.output = nn.Linear(100, 10)

    def forward(self, x):
      x = torch.flatten(x, 1)
      x = torch.relu(self.hidden_1(torch.relu(self.hidden_0(x))))
      return self.output(x)

  return LeNet(), ('hidden_0', 'hidden_1', 'output'), (28, 28, 1)


def _torch_conv2(torch):
  nn = torch.nn

  class Conv2(nn.Module):

    def __init__(self):
      super().__init__()
      self.conv_0 = nn.Conv2d(3, 64, 3, padding=1)
      self.conv_1 = nn.Conv2d(64, 64, 3, padding=1)
      self.dense_0 = nn.Linear(4 * 4 * 64, 256)
      self.dense_1 = nn.Linear(256, 256)
      self.output = nn.Linear(256, 10)

    def forward(self, x):  # x: NCHW.
      x = torch.relu(self.conv_1(torch.relu(self.conv_0(x))))
      x = torch.flatten(nn.functional.max_pool2d(x, 2), 1)
      x = torch.relu(self.dense_1(torch.relu(self.dense_0(x))))
      return self.output(x)

  return Conv2(), ('conv_0', 'conv_1', 'dense_0', 'dense_1', 'output'), (
      8, 8, 3)


@pytest.mark.parametrize('build', [_torch_lenet, _torch_conv2],
                         ids=['lenet300_100', 'conv2'])
def test_torch_module_with_custom_from_mask_predicts_as_flax(tmp_path,
                                                             build):
  torch = pytest.importorskip('torch')
  from torch.nn.utils import prune  # pylint: disable=import-outside-toplevel
  module, layers, shape = build(torch)
  name = 'lenet300_100' if len(layers) == 3 else 'conv2'
  t = random_ticket(name, {}, np.zeros((1, *shape), np.float32), 0.1)
  torch_format.save_torch(tmp_path / 'p.safetensors', t, 'prune')
  torch_format.save_torch(tmp_path / 'w.safetensors', t, 'plain')
  prune_sd = st_numpy.load_file(tmp_path / 'p.safetensors')
  for layer in layers:
    prune.custom_from_mask(getattr(module, layer), 'weight', torch.from_numpy(
        prune_sd[f'{layer}.weight_mask']))
  module.load_state_dict({k: torch.from_numpy(v)
                          for k, v in prune_sd.items()}, strict=True)
  x = np.random.default_rng(1).normal(size=(16, *shape)).astype(np.float32)
  model, variables = runs.to_flax(t)
  want = np.asarray(jax.jit(model.apply)(variables, jnp.asarray(x)))
  with torch.no_grad():
    got = module(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    for layer in layers:
      prune.remove(getattr(module, layer), 'weight')
    module.load_state_dict({k: torch.from_numpy(v) for k, v in
                            st_numpy.load_file(tmp_path / 'w.safetensors'
                                               ).items()}, strict=True)
    plain = module(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
  np.testing.assert_allclose(plain, want, rtol=1e-4, atol=1e-5)
  assert (got.argmax(1) == want.argmax(1)).all()
