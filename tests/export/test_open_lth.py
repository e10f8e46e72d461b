"""open_lth files in and out: torch modules built as open_lth's models."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import models
from lth_jax.export import open_lth
from lth_jax.export import runs
from lth_jax.export import ticket as ticket_lib

torch = pytest.importorskip('torch')
nn = torch.nn
F = torch.nn.functional


class Lenet(nn.Module):
  """open_lth's mnist_lenet: ``fc_layers`` (ModuleList) then ``fc``."""

  def __init__(self, plan=(300, 100)):
    super().__init__()
    sizes = (784, *plan)
    self.fc_layers = nn.ModuleList(nn.Linear(a, b)
                                   for a, b in zip(sizes, sizes[1:]))
    self.fc = nn.Linear(sizes[-1], 10)

  def forward(self, x):
    x = x.reshape(x.shape[0], -1)
    for layer in self.fc_layers:
      x = F.relu(layer(x))
    return self.fc(x)


class Block(nn.Module):
  """open_lth's cifar_resnet block (shortcut: Sequential(conv, bn))."""

  def __init__(self, f_in, f_out, downsample):
    super().__init__()
    stride = 2 if downsample else 1
    self.conv1 = nn.Conv2d(f_in, f_out, 3, stride, 1, bias=False)
    self.bn1 = nn.BatchNorm2d(f_out)
    self.conv2 = nn.Conv2d(f_out, f_out, 3, 1, 1, bias=False)
    self.bn2 = nn.BatchNorm2d(f_out)
    self.shortcut = nn.Sequential(
        nn.Conv2d(f_in, f_out, 1, 2, bias=False), nn.BatchNorm2d(f_out)
    ) if downsample or f_in != f_out else nn.Sequential()

  def forward(self, x):
    out = F.relu(self.bn1(self.conv1(x)))
    return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
  """open_lth's cifar_resnet_<D>_<W>: conv, bn, blocks, fc."""

  def __init__(self, depth=8, width=4):
    super().__init__()
    self.conv = nn.Conv2d(3, width, 3, 1, 1, bias=False)
    self.bn = nn.BatchNorm2d(width)
    blocks, f = [], width
    for s in range(3):
      for b in range((depth - 2) // 6):
        blocks.append(Block(f, width * 2**s, s > 0 and b == 0))
        f = width * 2**s
    self.blocks = nn.Sequential(*blocks)
    self.fc = nn.Linear(f, 10)

  def forward(self, x):
    out = self.blocks(F.relu(self.bn(self.conv(x))))
    return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


def save_open_lth(tmp_path, module, density=0.2):
  """Randomises batch-norm statistics, prunes prunable weights at random,
  and saves ``model_ep0_it0.pth`` and ``mask.pth`` as open_lth does."""
  gen = torch.Generator().manual_seed(0)
  mask = {}
  with torch.no_grad():
    for name, m in module.named_modules():
      if isinstance(m, nn.BatchNorm2d):
        m.running_mean.normal_(0, .1, generator=gen)
        m.running_var.uniform_(.5, 1.5, generator=gen)
        m.weight.uniform_(.5, 1.5, generator=gen)
      if isinstance(m, (nn.Linear, nn.Conv2d)):
        keep = torch.rand(m.weight.shape, generator=gen) < density
        mask[f'{name}.weight'] = keep.int()
        m.weight *= keep
  torch.save(module.state_dict(), tmp_path / 'model_ep0_it0.pth')
  torch.save(mask, tmp_path / 'mask.pth')
  return mask


@pytest.mark.parametrize('name,module,shape', [
    ('mnist_lenet_300_100', Lenet, (28, 28, 1)),
    ('cifar_resnet_8_4', ResNet, (8, 8, 3)),
])
def test_import_predicts_as_open_lth_and_writes_the_same_files(
    tmp_path, name, module, shape):
  net = module().eval()
  mask = save_open_lth(tmp_path, net)
  variables, masks = open_lth.read(name, tmp_path / 'model_ep0_it0.pth',
                                   tmp_path / 'mask.pth')
  model_name, kwargs = open_lth.lth_model(name)
  x = np.random.default_rng(0).normal(size=(8, *shape)).astype(np.float32)
  want = net(torch.from_numpy(x).permute(0, 3, 1, 2)).detach().numpy()
  apply = jax.jit(models.get_model(model_name, **kwargs).apply)
  got = apply(variables, jnp.asarray(x))
  np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-5)
  open_lth.import_ticket(name, tmp_path / 'model_ep0_it0.pth',
                         tmp_path / 'mask.pth', tmp_path / 't.lth')
  t = ticket_lib.load_ticket(tmp_path / 't.lth')
  assert t.kept() == sum(int(v.sum()) for v in mask.values())
  _, loaded = runs.to_flax(t)  # Checked against the model's shapes.
  np.testing.assert_allclose(np.asarray(apply(loaded, jnp.asarray(x))),
                             want, rtol=1e-4, atol=1e-5)
  kernels = [m for m in jax_leaves(masks) if m is not None]
  assert len(kernels) == len(mask)
  assert sum(int(m.sum()) for m in kernels) == sum(
      int(v.sum()) for v in mask.values())
  out = tmp_path / 'out'
  open_lth.write(out, name, variables, masks, step='ep3_it0')
  state = torch.load(out / 'model_ep3_it0.pth', weights_only=True)
  original = net.state_dict()
  assert list(state) == list(original)
  for k, v in original.items():
    if not k.endswith('num_batches_tracked'):
      np.testing.assert_array_equal(state[k].numpy(), v.numpy())
  back = torch.load(out / 'mask.pth', weights_only=True)
  assert set(back) == set(mask)
  for k, v in mask.items():
    np.testing.assert_array_equal(back[k].numpy(), v.numpy())
    assert back[k].dtype == torch.int32


def jax_leaves(tree):
  if isinstance(tree, dict):
    return [x for v in tree.values() for x in jax_leaves(v)]
  return [tree]


def test_bad_files_are_one_line_errors(tmp_path):
  net = Lenet()
  save_open_lth(tmp_path, net)
  ckpt, mask = tmp_path / 'model_ep0_it0.pth', tmp_path / 'mask.pth'
  state = net.state_dict()
  state['fc_layer.0.weight'] = state.pop('fc_layers.0.weight')
  torch.save(state, tmp_path / 'renamed.pth')
  cases = [
      (ValueError, 'is not a layer of open_lth model', tmp_path /
       'renamed.pth', None),
      (ValueError, "not this model's", ckpt, None),  # read as a wider net.
      (OSError, 'not a whole PyTorch file', tmp_path / 'cut.pth', None),
  ]
  tmp_path.joinpath('cut.pth').write_bytes(ckpt.read_bytes()[:5000])
  for i, (error, match, path, m) in enumerate(cases):
    model = 'mnist_lenet_300_200' if i == 1 else 'mnist_lenet_300_100'
    with pytest.raises(error, match=match) as e:
      open_lth.read(model, path, m)
    assert '\n' not in str(e.value)
  bad_mask = torch.load(mask, weights_only=True)
  bad_mask['fc.weight'] = bad_mask['fc.weight'][:, :50]
  torch.save(bad_mask, tmp_path / 'bad_mask.pth')
  with pytest.raises(ValueError, match="not this model's"):
    open_lth.read('mnist_lenet_300_100', ckpt, tmp_path / 'bad_mask.pth')
  with pytest.raises(ValueError, match='unknown open_lth model'):
    open_lth.lth_model('cifar_conv_4')
