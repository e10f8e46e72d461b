"""The text-CNN ensemble: shapes and weight counts, input checks, dropout
from the data key, masked training on token ids, multi-label F1."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lth_jax.training import multilabel as metrics
from lth_jax import models
from lth_jax import pruning
from lth_jax import training
from lth_jax.models import text as text_model
from lth_jax.training import losses
from lth_jax.training import steps as steps_lib

EMBEDDING_PRUNABLE = r'(^|/)(kernel|embedding)$'
LENGTH = 40


def shapes(model, length=200):
  variables = jax.eval_shape(lambda: model.init(
      jax.random.key(0), jnp.zeros((1, length), jnp.int32)))
  return jax.tree.map(lambda x: x.shape, variables['params'])


def count(tree) -> int:
  return sum(int(np.prod(s)) for s in jax.tree.leaves(
      tree, is_leaf=lambda x: isinstance(x, tuple)))


def test_paper_ensemble_shapes_and_weight_count():
  model = models.get_model('text_cnn_ensemble', num_classes=20)
  p = shapes(model)
  assert p['embedding']['embedding'] == (60000, 300)
  assert [p[f'conv_{i}']['kernel'][0] for i in range(16)] == [
      1, 4, 7, 10, 13, 16, 19, 22] * 2
  assert all(p[f'conv_{i}']['kernel'][1:] == (300, 3) for i in range(16))
  assert p['output']['kernel'] == (48, 20)
  # 60,000 x 300 + 3 x 300 x 2 x (1 + 4 + ... + 22) + 48 conv biases
  # + 48 x 20 + 20.
  assert count(p) == 18_000_000 + 165_600 + 48 + 980 == 18_166_628


def test_per_module_embeddings_option():
  model = models.get_model('text_cnn_ensemble', num_classes=4, vocab_size=50,
                           embed_dim=8, shared_embedding=False)
  p = shapes(model, LENGTH)
  assert 'embedding' not in p
  assert all(p[f'embedding_{i}']['embedding'] == (50, 8) for i in range(16))


def test_embedding_is_prunable_by_the_selector():
  model = models.get_model('text_cnn_ensemble', num_classes=4, vocab_size=50,
                           embed_dim=8)
  params = jax.eval_shape(lambda: model.init(
      jax.random.key(0), jnp.zeros((1, LENGTH), jnp.int32)))['params']
  assert pruning.ones_like(params)['embedding']['embedding'] is None
  with_embedding = pruning.ones_like(params, EMBEDDING_PRUNABLE)
  assert with_embedding['embedding']['embedding'].shape == (50, 8)
  assert with_embedding['conv_3']['bias'] is None


def test_rejects_float_inputs_and_short_sequences():
  model = text_model.TextCNNEnsemble(vocab_size=10, num_classes=2,
                                     embed_dim=4)
  with pytest.raises(TypeError, match='integer token ids'):
    model.init(jax.random.key(0), jnp.zeros((1, LENGTH), jnp.float32))
  with pytest.raises(ValueError, match='need >= 28 ids'):
    model.init(jax.random.key(0), jnp.zeros((1, 27), jnp.int32))


def tiny_model(num_classes):
  """4 modules (widths 1, 4, 7, 10; pools 2, 2, 7, 7): quick to compile."""
  return models.get_model('text_cnn_ensemble', num_classes=num_classes,
                          vocab_size=40, embed_dim=8, num_modules=4)


#: One optimizer object: a new one would be a new static field (recompiles).
TX = optax.adam(1e-2)
#: One jitted step for every test: same model and shapes compile once.
STEP = jax.jit(steps_lib.train_step, static_argnames=('task',))
EVALUATE = jax.jit(steps_lib.evaluate, static_argnames=('batch_size',
                                                        'task'))
EVALUATE_F1 = jax.jit(metrics.evaluate_multilabel,
                      static_argnames=('batch_size', 'threshold'))


def test_dropout_only_in_training_and_reproducible_from_its_key():
  model = tiny_model(3)
  ids = jax.random.randint(jax.random.key(1), (4, LENGTH), 0, 40)
  variables = jax.jit(model.init)(jax.random.key(0), ids)
  run = jax.jit(functools.partial(model.apply, variables, ids),
                static_argnames=('train',))
  np.testing.assert_array_equal(run(train=False), run(train=False))
  a = run(train=True, rngs={'dropout': jax.random.key(5)})
  b = run(train=True, rngs={'dropout': jax.random.key(5)})
  c = run(train=True, rngs={'dropout': jax.random.key(6)})
  np.testing.assert_array_equal(a, b)
  assert not np.allclose(a, c)
  assert not np.allclose(a, run(train=False))


def token_data(n, num_classes, seed, multi_label=False):
  """Documents whose class shows as a few class tokens among noise."""
  rng = np.random.default_rng(seed)
  ids = rng.integers(2 + num_classes, 40, (n, LENGTH)).astype(np.int32)
  if multi_label:
    labels = (rng.random((n, num_classes)) < 0.4).astype(np.float32)
    for c in range(num_classes):
      ids[labels[:, c] > 0, c * 4:c * 4 + 4] = 2 + c
    return ids, labels
  labels = rng.integers(0, num_classes, n).astype(np.int32)
  ids[:, :8] = 2 + labels[:, None]
  return ids, labels


@functools.partial(jax.jit, static_argnums=0)
def INIT(model, ids):  # pylint: disable=invalid-name
  return model.init(jax.random.key(0), ids)['params']


def new_state(model, ids, data_key, prunable=EMBEDDING_PRUNABLE, level=0):
  params = INIT(model, ids[:1])
  masks = pruning.ones_like(params, prunable)
  if level:
    masks = pruning.prune_layerwise(params, masks, {'conv_': 0.15,
                                                    '.*': 0.2}, level=level)
  return training.create_train_state(model, params, masks, TX, data_key)


def test_masked_training_on_token_ids_learns_and_keeps_zeros():
  model = tiny_model(4)
  ids, labels = token_data(256, 4, seed=0)
  state = new_state(model, ids, jax.random.key(3), level=4)
  step = STEP
  before = EVALUATE(state, jnp.asarray(ids), jnp.asarray(labels))
  for i in range(60):
    sl = slice((i * 32) % 256, (i * 32) % 256 + 32)
    state, _ = step(state, jnp.asarray(ids[sl]), jnp.asarray(labels[sl]))
  loss, acc = EVALUATE(state, jnp.asarray(ids), jnp.asarray(labels))
  assert float(loss) < float(before[0]) and float(acc) > 0.9
  emb, mask = (np.asarray(state.params['embedding']['embedding']),
               np.asarray(state.masks['embedding']['embedding']))
  assert mask.mean() == pytest.approx(0.8 ** 4, abs=1e-2)
  assert (emb[~mask] == 0).all()
  kernel = np.asarray(state.params['conv_3']['kernel'])
  assert (kernel[~np.asarray(state.masks['conv_3']['kernel'])] == 0).all()


def test_dropout_keys_come_from_the_data_key():
  model = tiny_model(4)
  ids, labels = token_data(32, 4, seed=1)
  step = STEP
  x, y = jnp.asarray(ids), jnp.asarray(labels)
  a, _ = step(new_state(model, ids, jax.random.key(7)), x, y)
  b, _ = step(new_state(model, ids, jax.random.key(7)), x, y)
  c, _ = step(new_state(model, ids, jax.random.key(8)), x, y)
  leaf = lambda s: np.asarray(s.params['output']['kernel'])  # noqa: E731
  np.testing.assert_array_equal(leaf(a), leaf(b))
  assert not np.array_equal(leaf(a), leaf(c))


def reference_f1(pred, true):
  """Micro and macro F1 written out in NumPy (zero_division=0)."""
  tp = (pred & true).sum(0)
  fp = (pred & ~true).sum(0)
  fn = (~pred & true).sum(0)
  micro = 2 * tp.sum() / (2 * tp.sum() + fp.sum() + fn.sum())
  den = 2 * tp + fp + fn
  macro = np.where(den > 0, 2 * tp / np.maximum(den, 1), 0).mean()
  return micro, macro, tp.sum() / (tp.sum() + fp.sum()), tp.sum() / (
      tp.sum() + fn.sum())


def test_multilabel_training_and_f1_against_numpy():
  model = tiny_model(5)
  ids, labels = token_data(192, 5, seed=2, multi_label=True)
  state = new_state(model, ids, jax.random.key(4))
  task = losses.Task(multi_label=True)
  step = functools.partial(STEP, task=task)
  x, y = jnp.asarray(ids), jnp.asarray(labels)
  first = EVALUATE_F1(state, x, y, batch_size=50)
  for i in range(80):
    sl = slice((i * 32) % 192, (i * 32) % 192 + 32)
    state, _ = step(state, x[sl], y[sl])
  out = EVALUATE_F1(state, x, y, batch_size=50)  # 4 batches
  assert float(out['loss']) < float(first['loss'])
  logits = jax.jit(model.apply)({'params': state.params}, x)
  pred = np.asarray(jax.nn.sigmoid(logits)) >= 0.5
  micro, macro, precision, recall = reference_f1(pred, labels > 0.5)
  assert float(out['micro_f1']) == pytest.approx(micro, abs=1e-6)
  assert float(out['macro_f1']) == pytest.approx(macro, abs=1e-6)
  assert float(out['micro_precision']) == pytest.approx(precision, abs=1e-6)
  assert float(out['micro_recall']) == pytest.approx(recall, abs=1e-6)
  assert float(out['acc']) == pytest.approx(
      (pred == (labels > 0.5)).all(-1).mean(), abs=1e-6)
  assert micro > 0.8   # the class tokens are learnt
  whole = EVALUATE_F1(state, x, y, batch_size=192)
  assert float(whole['micro_f1']) == pytest.approx(micro, abs=1e-6)


def test_f1_of_a_class_never_seen_counts_zero_in_the_macro_mean():
  tp, fp, fn = metrics.label_counts(jnp.array([[0.9, 0.1]]),
                                    jnp.array([[1.0, 0.0]]))
  scores = metrics.f1_scores(tp, fp, fn)
  assert float(scores['micro_f1']) == 1.0
  assert float(scores['macro_f1']) == 0.5
