"""The text-CNN ticket's inference paths (slim dense, BCOO, numba CSR) give
the masked Flax model's logits and predictions."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import errors
from lth_jax import models
from lth_jax.export import csr_text
from lth_jax.export import slim_text
from lth_jax.export import sparse


def tiny_ticket(seed: int = 0):
  """A 2-module text CNN (vocab 40, dim 5, 3 filters, 6 classes), pruned.

  Random masks (~40 % kept) plus: embedding column 4 pruned for every word;
  filter 1 of module 0 with no kept tap (a zombie with bias 0.7) that
  reaches the output; filter 2 of module 1 reaching no output (inactive).
  """
  model = models.get_model('text_cnn_ensemble', num_classes=6,
                           vocab_size=40, embed_dim=5, num_modules=2)
  rng = np.random.default_rng(seed)
  ids = rng.integers(0, 40, (9, 20)).astype(np.int32)
  shapes = jax.eval_shape(model.init, jax.random.key(1), ids)['params']
  params = jax.tree.map(
      lambda a: rng.normal(0, .5, a.shape).astype(np.float32), shapes)
  params['conv_0']['bias'][:] = [0.1, 0.7, -0.2]
  params['output']['bias'][:] = np.linspace(-.3, .3, 6)
  masks = jax.tree.map(lambda p: rng.random(p.shape) < 0.4, params)
  for name in params:
    masks[name]['bias'] = None
  masks['embedding']['embedding'][:, 4] = False
  masks['conv_0']['kernel'][:, :, 1] = False
  masks['output']['kernel'][0:2] = True    # filters 0, 1 of module 0 reach
  masks['output']['kernel'][3 + 2] = False
  return model, params, masks, ids


def masked_logits(model, params, masks, ids):
  """The reference: the Flax model on the masked params."""
  masked = {n: {k: v if masks[n][k] is None else v * masks[n][k]
                for k, v in layer.items()} for n, layer in params.items()}
  return np.asarray(model.apply({'params': masked}, jnp.asarray(ids)))


def test_every_path_gives_the_masked_model_logits():
  model, params, masks, ids = tiny_ticket()
  want = masked_logits(model, params, masks, ids)
  s = slim_text.slim_text(params, masks)
  assert 4 not in s.dims.tolist()
  assert 1 not in s.filters[0].tolist()     # the zombie, folded
  assert 2 not in s.filters[-1].tolist()    # the inactive filter
  report = slim_text.text_report(params, masks, s)
  assert report['units_before'] == [5, 6]
  assert report['units_removed'][0] >= 1 and report['units_removed'][1] >= 2
  got = {
      'slim': jax.jit(lambda x: slim_text.slim_text_forward(s, x))(ids),
      'bcoo': jax.jit(lambda x: sparse.text_forward(
          sparse.sparse_text(params, masks), x))(ids)}
  if csr_text.available():
    got['csr'] = csr_text.forward(csr_text.CsrText.from_slim(s), ids)
  for name, logits in got.items():
    np.testing.assert_allclose(np.asarray(logits), want, rtol=1e-5,
                               atol=1e-5, err_msg=name)
    assert (np.asarray(logits).argmax(1) == want.argmax(1)).all(), name


def test_dropping_the_zombie_without_its_folded_bias_is_wrong():
  """The negative control: the zombie's bias times its output row matters."""
  model, params, masks, ids = tiny_ticket()
  want = masked_logits(model, params, masks, ids)
  s = slim_text.slim_text(params, masks)
  unfolded = s._replace(out_bias=params['output']['bias'])
  wrong = np.asarray(slim_text.slim_text_forward(unfolded, ids))
  assert np.abs(wrong - want).max() > 1e-2


def test_bad_inputs_are_one_line_errors():
  _, params, masks, ids = tiny_ticket()
  bad = dict(masks, output={'kernel': masks['output']['kernel'][:5],
                            'bias': None})
  with pytest.raises(errors.InputError, match="not this model's"):
    slim_text.slim_text(params, bad)
  with pytest.raises(errors.InputError, match='not a text CNN'):
    slim_text.text_layers({'hidden_0': {}}, {})
  model = csr_text.CsrText.from_slim(slim_text.slim_text(params, masks))
  with pytest.raises(errors.InputError, match=r'in \[0, 40\)'):
    csr_text.forward(model, ids + 40)
  with pytest.raises(errors.InputError, match='too short'):
    csr_text.forward(model, ids[:, :5])
