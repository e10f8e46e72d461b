"""Pruning-at-init scorers against hand-computed examples (pruning.scores)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import pruning
from lth_jax.pruning import ablations
from lth_jax.pruning import scores
from lth_jax.pruning import scoring
from lth_jax.pruning import selection
from lth_jax.pruning import synflow as synflow_lib

# A linear classifier: logits = x @ W + b, one example x = [1, 2], label 0.
W = np.array([[1., -1.], [.5, 2.]], np.float32)
B = np.array([.3, -.2], np.float32)
X = np.array([[1., 2.]], np.float32)
Y = np.array([0])


def linear(params, x):
  return x @ params['w'] + params['b']


LOSS = scores.classification_loss(linear)
PARAMS = {'w': jnp.asarray(W), 'b': jnp.asarray(B)}
MASKS = {'w': jnp.ones((2, 2), bool), 'b': None}


def softmax(z):
  e = np.exp(z - z.max())
  return e / e.sum()


def test_magnitude_and_random_scores():
  masks = {'w': jnp.array([[True, False], [True, True]]), 'b': None}
  s = scores.magnitude(PARAMS, masks)
  np.testing.assert_array_equal(s['w'], [[1., 0.], [.5, 2.]])
  assert s['b'] is None
  r1 = scores.random(PARAMS, masks, key=jax.random.key(0))
  r2 = scores.random(PARAMS, masks, key=jax.random.key(1))
  assert r1['b'] is None and r1['w'].shape == (2, 2)
  assert not np.array_equal(r1['w'], r2['w'])
  with pytest.raises(ValueError, match='key='):
    scores.random(PARAMS, masks)


def test_snip_is_the_gate_gradient_by_hand():
  # logits = [1 + 1 + .3, -1 + 4 - .2] = [2.3, 2.8]; dL/dW_ij = x_i (p_j - y_j)
  p = softmax(np.array([2.3, 2.8]))
  grad = np.outer(X[0], p - np.array([1., 0.]))
  expected = np.abs(W * grad)
  s = scores.snip(PARAMS, MASKS, loss_fn=LOSS, batch=(X, Y))
  np.testing.assert_allclose(s['w'], expected, rtol=1e-5)
  assert s['b'] is None
  # |dL/dw| alone (the known defect of one public SNIP) is another ranking.
  assert not np.allclose(s['w'], np.abs(grad), atol=1e-2)
  # A central difference in the gate of W[1, 1] gives the same number.
  def loss_at(c):
    return float(LOSS({'w': PARAMS['w'].at[1, 1].multiply(c),
                       'b': PARAMS['b']}, (X, Y)))
  fd = (loss_at(1 + 1e-2) - loss_at(1 - 1e-2)) / 2e-2
  np.testing.assert_allclose(s['w'][1, 1], abs(fd), rtol=1e-3)


def test_snip_masked_weights_score_zero():
  masks = {'w': jnp.array([[True, False], [True, True]]), 'b': None}
  s = scores.snip(PARAMS, masks, loss_fn=LOSS, batch=(X, Y))
  assert s['w'][0, 1] == 0


def grasp_by_hand(temperature):
  """w * (H g) for the linear model, with g and H over W only.

  z = (x W + b) / T, A = diag(p) - p p^T, g_kl = x_k (p - y)_l / T,
  H_(ij),(kl) = x_i x_k A_jl / T^2, so (H g)_ij = x_i |x|^2 (A (p - y))_j / T^3.
  """
  p = softmax((X[0] @ W + B) / temperature)
  a = np.diag(p) - np.outer(p, p)
  hg = np.outer(X[0], a @ (p - np.array([1., 0.]))) * (
      X[0] @ X[0]) / temperature**3
  return W * hg


@pytest.mark.parametrize('temperature', [1.0, 200.0])
def test_grasp_by_hand(temperature):
  expected = grasp_by_hand(temperature)  # = -(the paper's score)
  s = scores.grasp(PARAMS, MASKS, loss_fn=LOSS, batch=(X, Y),
                   temperature=temperature)
  np.testing.assert_allclose(s['w'], expected, rtol=2e-4,
                             atol=1e-6 * np.abs(expected).max())
  a = scores.grasp_abs(PARAMS, MASKS, loss_fn=LOSS, batch=(X, Y),
                       temperature=temperature)
  np.testing.assert_allclose(a['w'], np.abs(expected), rtol=2e-4,
                             atol=1e-6 * np.abs(expected).max())
  # The bias is not part of g: including it would scale Hg by
  # (|x|^2 + 1) / |x|^2 = 1.2, which the tolerance above excludes.
  assert s['b'] is None


def test_grasp_default_temperature_is_200():
  s = scores.grasp(PARAMS, MASKS, loss_fn=LOSS, batch=(X, Y))
  np.testing.assert_allclose(s['w'], grasp_by_hand(200.0), rtol=2e-4,
                             atol=1e-12)
  # GraSP removes the highest -w*Hg, i.e. keeps the highest w*Hg.
  keep = pruning.keep_top_k(s['w'], MASKS['w'], 1)
  paper = -grasp_by_hand(200.0)
  assert keep.reshape(-1)[np.argmin(paper)]


# SynFlow on out = relu(x @ W1) @ W2, no biases, input all ones:
# R = sum_j (sum_i |W1_ij|)(sum_k |W2_jk|) = 4 * 1.5 + 2.5 * 4 = 16.
W1 = np.array([[1., -2.], [3., .5]], np.float32)
W2 = np.array([[1.5], [-4.]], np.float32)


def two_layer(params, x):
  return jax.nn.relu(x @ params['l1']) @ params['l2']


SF_PARAMS = {'l1': jnp.asarray(W1), 'l2': jnp.asarray(W2)}
SF_MASKS = {'l1': jnp.ones((2, 2), bool), 'l2': jnp.ones((2, 1), bool)}


def synflow(masks=SF_MASKS, **kwargs):
  return synflow_lib.synflow(SF_PARAMS, masks, output_fn=two_layer,
                        input_shape=(1, 2), **kwargs)


@pytest.mark.parametrize('rescale', [False, True])
def test_synflow_single_shot_by_hand(rescale):
  # score W1_ij = |W1_ij| sum_k |W2_jk|; score W2_jk = |W2_jk| sum_i |W1_ij|.
  s = synflow(rounds=1, rescale=rescale)
  top = 10.0
  np.testing.assert_allclose(s['l1'], np.array([[1.5, 8.], [4.5, 2.]]) / top,
                             rtol=1e-6)
  np.testing.assert_allclose(s['l2'], np.array([[6.], [10.]]) / top,
                             rtol=1e-6)
  r = synflow_lib.synflow_round(SF_PARAMS, SF_MASKS, two_layer, (1, 2), False)[1]
  assert float(r) == 16.0


def test_synflow_iterates_with_the_exponential_schedule():
  # 6 weights to 3 in 2 rounds: keep round(6 * .5**.5) = 4, then 3.
  assert synflow_lib.synflow_counts(6, .5, 2) == [4, 3]
  s = synflow(density=.5, rounds=2)
  # Round 1 keeps 10, 8, 6, 4.5: W2_1, W1_01, W2_0, W1_10. Round 2 on that
  # mask: |W1| = [[0, 2], [3, 0]], so W1_01 = 2*4, W1_10 = 3*1.5,
  # W2_0 = 1.5*3, W2_1 = 4*2; the pruned get -inf. Divided by the max (8).
  np.testing.assert_allclose(
      s['l1'], [[-np.inf, 1.], [4.5 / 8, -np.inf]], rtol=1e-6)
  np.testing.assert_allclose(s['l2'], [[4.5 / 8], [1.]], rtol=1e-6)
  kept = selection.top_k_global(s, SF_MASKS, 3)
  assert sum(int(m.sum()) for m in jax.tree.leaves(kept)) == 3
  # Single-shot keeps W2_0 at 3 weights, iterative does not need to.
  one_shot = selection.top_k_global(synflow(rounds=1), SF_MASKS, 3)
  assert bool(one_shot['l2'][0, 0]) and not bool(one_shot['l1'][1, 0])


def test_synflow_inverted_keeps_the_lowest_each_round():
  s = synflow(density=.5, rounds=2, inverted=True)
  kept = selection.top_k_global(s, SF_MASKS, 3)
  # Round 1 inverted keeps the 4 lowest (1.5, 2, 4.5, 6): never W1_01 = 8
  # nor W2_1 = 10.
  assert not bool(kept['l1'][0, 1]) and not bool(kept['l2'][1, 0])


def deep_chain(depth, width, scale, seed=0):
  rng = np.random.default_rng(seed)
  return {f'l{i:02d}': jnp.asarray(
      scale * rng.uniform(.5, 1.5, (width, width)).astype(np.float32))
          for i in range(depth)}


def chain(params, x):
  for name in sorted(params):
    x = jax.nn.relu(x @ params[name])
  return x


def chain_scores_float64(params):
  """Hand formula: score W_l = |W_l| * (a_{l-1}^T outer b_{l+1}),
  a = forward products from ones, b = backward products to ones."""
  mats = [np.abs(np.asarray(params[k], np.float64)) for k in sorted(params)]
  fwd = [np.ones(mats[0].shape[0])]
  for m in mats:
    fwd.append(fwd[-1] @ m)
  bwd = [np.ones(mats[-1].shape[1])]
  for m in reversed(mats):
    bwd.append(m @ bwd[-1])
  bwd = bwd[::-1]  # bwd[l] = prod_{j >= l} W_j 1
  return [m * np.outer(fwd[l], bwd[l + 1]) for l, m in enumerate(mats)]


def test_synflow_overflow_is_an_error_and_rescaling_fixes_it():
  params = deep_chain(depth=12, width=8, scale=1e3)  # R ~ 8e3^12 > 3e38
  masks = jax.tree.map(lambda p: jnp.ones(p.shape, bool), params)
  run = lambda rescale: synflow_lib.synflow(params, masks, output_fn=chain,
                                       input_shape=(1, 8), rounds=1,
                                       rescale=rescale)
  if jax.config.jax_enable_x64:
    pytest.skip('float64 does not overflow here')
  with pytest.raises(FloatingPointError, match='jax_enable_x64'):
    run(False)
  got = run(True)
  ref = chain_scores_float64(params)
  top = max(r.max() for r in ref)
  for g, r in zip([got[k] for k in sorted(got)], ref):
    np.testing.assert_allclose(g, r / top, rtol=1e-4)


def test_synflow_disconnected_mask_is_not_an_error():
  masks = {'l1': jnp.array([[True, False], [True, False]]),
           'l2': jnp.array([[False], [True]])}  # no path: R = 0
  s = synflow(masks, rounds=1)
  assert float(jnp.max(s['l1'])) == 0 and float(jnp.max(s['l2'])) == 0


def test_class_balanced_batch():
  labels = np.repeat(np.arange(3), [5, 4, 6])
  images = np.arange(15.)
  x, y = scores.class_balanced_batch(jax.random.key(0), images, labels, 3)
  assert np.bincount(np.asarray(y)).tolist() == [3, 3, 3]
  np.testing.assert_array_equal(labels[np.asarray(x).astype(int)], y)
  with pytest.raises(ValueError, match='fewer than per_class=5'):
    scores.class_balanced_batch(jax.random.key(0), images, labels, 5)


def test_scores_give_exact_counts_through_the_selection():
  s = scores.snip(PARAMS, MASKS, loss_fn=LOSS, batch=(X, Y))
  new = pruning.prune_global(PARAMS, MASKS, .5, level=1, scores=s)
  assert int(new['w'].sum()) == 2 and new['b'] is None
  # The largest SNIP score (W[1, 1]) is kept; inverting prunes it.
  assert bool(new['w'][1, 1])
  inv = pruning.prune_global(PARAMS, MASKS, .5, level=1,
                             scores=scores.invert(s))
  assert not bool(inv['w'][1, 1]) and int(inv['w'].sum()) == 2


def test_one_registry_lists_every_scorer_once():
  assert scoring.all_scorer_names() == sorted(
      ['grasp', 'grasp_abs', 'magnitude', 'random', 'snip', 'synflow',
       'large_final', 'small_final', 'large_init', 'small_init',
       'large_init_large_final', 'magnitude_increase', 'movement',
       'large_final_same_sign', 'rigl_gradient', 'wanda'])
  assert scores.all_scorer_names() == scoring.all_scorer_names()
  with pytest.raises(ValueError, match='known: grasp'):
    scoring.get_scorer('snipp')
  with pytest.raises(ValueError, match='already registered'):
    scoring.register_scorer('random')(lambda params, masks, **_: params)


def test_score_names_the_missing_input():
  masks = {'w': jnp.ones((2, 2), bool), 'b': None}
  with pytest.raises(ValueError, match="'snip' scorer needs .*loss_fn=.*batch="):
    scoring.score('snip', PARAMS, masks)
  with pytest.raises(ValueError, match="'movement' scorer needs the initial weights"):
    scoring.score('movement', PARAMS, masks)


def test_shuffle_keeps_counts_and_moves_entries():
  key = jax.random.key(3)
  m = {'a': jax.random.uniform(key, (40, 30)) < .2, 'b': None,
       'c': jnp.arange(50) < 7}
  s = ablations.shuffle_within_layers(jax.random.key(4), m)
  assert s['b'] is None
  for name in ('a', 'c'):
    assert int(s[name].sum()) == int(m[name].sum())
    assert not np.array_equal(s[name], m[name])  # it shuffled something
  assert s['a'].shape == (40, 30)
