"""Slimming MLP tickets (exact unit counts, same logits, folded zombies) and
their CSR inference."""
import numpy as np
import pytest

from lth_jax.export import csr
from lth_jax.export import slim


def numpy_logits(params, masks, x):
  """The masked MLP forward in NumPy (the reference)."""
  h = x.reshape(len(x), -1)
  names = [n for n in params if n != 'output'] + ['output']
  for n in names:
    h = h @ (params[n]['kernel'] * masks[n]['kernel']) + params[n]['bias']
    h = np.maximum(h, 0) if n != 'output' else h
  return h


def small_mlp(seed: int = 0):
  """A 6 -> 5 -> 4 -> 3 MLP with non-zero biases and a hand-made mask.

  Input 5 is read by no kept weight; hidden_0 unit 4 has no kept input (a
  zombie: relu(0.5) is a constant) and feeds hidden_1 units 1 and 3;
  hidden_1 unit 3 has no kept output (inactive) and hidden_1 unit 2 has no
  input (a zombie, relu(0.7), feeding outputs 0 and 2).
  """
  rng = np.random.default_rng(seed)
  params = {n: {'kernel': rng.normal(0, 1, (a, b)).astype(np.float32)}
            for n, a, b in (('hidden_0', 6, 5), ('hidden_1', 5, 4),
                            ('output', 4, 3))}
  params['hidden_0']['bias'] = np.array([.1, -.2, .3, .0, .5], np.float32)
  params['hidden_1']['bias'] = np.array([.2, .1, .7, -.1], np.float32)
  params['output']['bias'] = np.array([.1, .2, .3], np.float32)
  m0 = np.zeros((6, 5), bool)
  m0[[0, 1, 2, 3, 4], [0, 1, 2, 3, 0]] = True
  m1 = np.zeros((5, 4), bool)
  m1[[0, 1, 2, 3, 4, 4], [0, 1, 1, 0, 3, 1]] = True
  m2 = np.zeros((4, 3), bool)
  m2[[0, 1, 2, 2], [0, 1, 2, 0]] = True
  masks = {'hidden_0': {'kernel': m0, 'bias': None},
           'hidden_1': {'kernel': m1, 'bias': None},
           'output': {'kernel': m2, 'bias': None}}
  return params, masks


def test_removes_exactly_the_dead_units_and_keeps_the_logits():
  params, masks = small_mlp()
  s = slim.slim_mlp(params, masks)
  assert s.inputs.tolist() == [0, 1, 2, 3, 4]
  assert [u.tolist() for u in s.units] == [[0, 1, 2, 3], [0, 1]]
  r = slim.report(params, masks, s)
  assert r['units_removed'] == [1, 1, 2, 0]
  assert r['params_after'] == 5 * 4 + 4 + 4 * 2 + 2 + 2 * 3 + 3
  x = np.random.default_rng(1).normal(size=(50, 6)).astype(np.float32)
  want = numpy_logits(params, masks, x)
  np.testing.assert_allclose(np.asarray(slim.slim_forward(s, x)), want,
                             rtol=1e-6, atol=1e-6)
  flax_model, variables = slim.to_flax(s)
  got = np.asarray(flax_model.apply(variables, x[:, s.inputs]))
  np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_zombie_constants_are_folded_into_the_next_bias():
  params, masks = small_mlp()
  s = slim.slim_mlp(params, masks)
  # hidden_1 unit 2 is a zombie: relu(0.7) * W[2, :] lands in the output
  # bias (and hidden_0 unit 4's relu(0.5) * W[4, 1] in hidden_1's).
  w2 = params['output']['kernel'] * masks['output']['kernel']
  np.testing.assert_allclose(
      s.biases[-1], params['output']['bias'] + 0.7 * w2[2], rtol=1e-6)
  unfolded = s._replace(biases=[
      params['hidden_0']['bias'][s.units[0]],
      params['hidden_1']['bias'][s.units[1]], params['output']['bias']])
  x = np.random.default_rng(2).normal(size=(20, 6)).astype(np.float32)
  want = numpy_logits(params, masks, x)
  assert np.abs(np.asarray(slim.slim_forward(unfolded, x)) - want
                ).max() > 1e-2  # Dropping zombies without folding is wrong.


def test_random_lenet_ticket_keeps_its_predictions():
  rng = np.random.default_rng(0)
  sizes = (784, 300, 100, 10)
  names = ('hidden_0', 'hidden_1', 'output')
  params = {n: {'kernel': rng.normal(0, .1, (a, b)).astype(np.float32),
                'bias': rng.normal(0, .1, b).astype(np.float32)}
            for n, a, b in zip(names, sizes, sizes[1:])}
  masks = {n: {'kernel': rng.random(p['kernel'].shape) < 0.02, 'bias': None}
           for n, p in params.items()}
  s = slim.slim_mlp(params, masks)
  r = slim.report(params, masks, s)
  assert r['units_removed'][0] > 0 and r['units_removed'][1] > 0
  assert r['nonzero_weights_after'] < r['kept_weights_before']
  x = rng.random((500, 28, 28, 1), np.float32)
  want = numpy_logits(params, masks, x)
  got = np.asarray(slim.slim_forward(s, x))
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
  assert (got.argmax(1) == want.argmax(1)).all()


def test_bad_masks_and_models_name_the_problem():
  params, masks = small_mlp()
  masks['hidden_1']['kernel'] = masks['hidden_1']['kernel'].T
  with pytest.raises(ValueError, match='mask of hidden_1/kernel'):
    slim.slim_mlp(params, masks)
  with pytest.raises(ValueError, match="not an MLP's"):
    slim.slim_mlp({'conv_0': {'kernel': np.ones((3, 3, 1, 2))}}, None)


@pytest.mark.parametrize('backend', csr.available_backends())
def test_csr_forward_matches_the_masked_network(backend):
  rng = np.random.default_rng(0)
  sizes = (64, 40, 20, 5)
  names = ('hidden_0', 'hidden_1', 'output')
  params = {n: {'kernel': rng.normal(0, .3, (a, b)).astype(np.float32),
                'bias': rng.normal(0, .1, b).astype(np.float32)}
            for n, a, b in zip(names, sizes, sizes[1:])}
  masks = {n: {'kernel': rng.random(p['kernel'].shape) < 0.1, 'bias': None}
           for n, p in params.items()}
  s = slim.slim_mlp(params, masks)
  model = csr.CsrMLP.from_slim(s)
  assert model.nnz() == sum(int((k != 0).sum()) for k in s.kernels)
  x = rng.random((9, 8, 8, 1), np.float32)
  want = numpy_logits(params, masks, x)
  for batch in (x[:1], x):
    got = csr.forward(model, batch, backend)
    assert got.shape == (len(batch), 5) and got.dtype == np.float32
    np.testing.assert_allclose(got, want[:len(batch)], rtol=1e-5, atol=1e-5)
  broken = model._replace(bias=np.zeros_like(model.bias))
  assert np.abs(csr.forward(broken, x, backend) - want).max() > 1e-3


def test_unknown_backend_names_the_known_ones():
  model = csr.CsrMLP.from_slim(slim.slim_mlp(*small_mlp()))
  with pytest.raises(ValueError, match="known: \\('numba', 'scipy'\\)"):
    csr.forward(model, np.zeros((1, 6)), 'mkl')
