"""Exact top-k selection: the counting search against a sort-based reference."""
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax.pruning import magnitude
from lth_jax.pruning import selection


def reference_top_k_global(scores, masks, k):
  """Naive reference: concatenate, stable sort, keep the first k."""
  sizes = [np.size(m) for m in masks]
  flat_s = np.concatenate(
      [np.ravel(np.asarray(s, np.float32)) for s in scores] + [np.zeros(0)])
  # NaN ranks below every number, -inf included (see sort_key).
  flat_s = np.where(flat_s == -np.inf, -np.finfo(np.float64).max, flat_s)
  flat_s = np.where(np.isnan(flat_s), -np.inf, flat_s)
  flat_m = np.concatenate(
      [np.ravel(np.asarray(m, bool)) for m in masks] + [np.zeros(0, bool)])
  # Stable: among equal keys the lower concatenated index (earlier leaf,
  # lower flat index) comes first; masked entries go last.
  order = np.lexsort((-flat_s, ~flat_m))
  keep = np.zeros(flat_s.size, bool)
  keep[order[:max(0, min(int(k), int(flat_m.sum())))]] = True
  keep &= flat_m
  out, start = [], 0
  for size, m in zip(sizes, masks):
    out.append(keep[start:start + size].reshape(np.shape(m)))
    start += size
  return out


def random_tree(rng, shapes, ties, masked):
  scores, masks = [], []
  for shape in shapes:
    if ties:
      s = rng.integers(0, 4, size=shape).astype(np.float32)
    else:
      s = rng.standard_normal(size=shape).astype(np.float32)
    scores.append(s)
    masks.append(rng.random(size=shape) > masked)
  return scores, masks


def assert_same(got, want):
  assert len(got) == len(want)
  for g, w in zip(got, want):
    assert g.dtype == jnp.bool_
    np.testing.assert_array_equal(np.asarray(g), w)


SHAPES = [(3, 5), (0,), (1,), (), (7,), (2, 3, 4), (0, 3), (11,)]


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('ties', [False, True])
def test_global_matches_reference(seed, ties):
  rng = np.random.default_rng(seed)
  scores, masks = random_tree(rng, SHAPES, ties, masked=0.3)
  remaining = int(sum(m.sum() for m in masks))
  for k in sorted({0, 1, remaining // 3, remaining // 2, remaining - 1,
                   remaining, remaining + 5, -2}):
    assert_same(selection.keep_top_k_global(scores, masks, k),
                reference_top_k_global(scores, masks, k))


@pytest.mark.parametrize('chunk', [1, 4, 5])
def test_chunked_counting_matches_reference(monkeypatch, chunk):
  # Leaves on one device larger than _CHUNK are counted chunk by chunk.
  monkeypatch.setattr(selection, '_CHUNK', chunk)
  rng = np.random.default_rng(7)
  scores, masks = random_tree(rng, [(4, 5), (3,), (2, 2, 3), (10,)],
                              ties=True, masked=0.25)
  remaining = int(sum(m.sum() for m in masks))
  traced = jax.jit(selection.keep_top_k_global)
  for k in (0, 7, remaining // 2, remaining):
    want = reference_top_k_global(scores, masks, k)
    assert_same(selection.keep_top_k_global(scores, masks, k), want)
    assert_same(traced(scores, masks, k), want)


def test_absolute_ranks_magnitudes():
  rng = np.random.default_rng(3)
  scores, masks = random_tree(rng, [(5, 4), (9,)], ties=True, masked=0.2)
  scores = [s - 2 for s in scores]
  for k in (0, 6, 13):
    assert_same(
        selection.keep_top_k_global(scores, masks, k, absolute=True),
        reference_top_k_global([np.abs(s) for s in scores], masks, k))


def test_general_floats_and_special_values():
  s = np.array([-1., -0., 0., 2., np.inf, -np.inf, np.nan, 2., -1., 0.],
               np.float32)
  m = np.ones(s.shape, bool)
  for k in range(s.size + 1):
    assert_same(selection.keep_top_k_global([s], [m], k),
                reference_top_k_global([s], [m], k))


def test_sort_key_preserves_order():
  rng = np.random.default_rng(0)
  x = np.concatenate([rng.standard_normal(200) * 10.0 ** rng.integers(
      -40, 38, 200), [0., -0., np.inf, -np.inf, 1e-45, -1e-45]]).astype(
          np.float32)
  key = np.asarray(selection.sort_key(x)).astype(np.int64)
  a, b = np.meshgrid(np.arange(x.size), np.arange(x.size))
  np.testing.assert_array_equal(key[a] < key[b], x[a] < x[b])
  np.testing.assert_array_equal(key[a] == key[b], x[a] == x[b])


def test_single_leaf_and_never_revives():
  rng = np.random.default_rng(1)
  s = rng.integers(0, 3, size=(6, 5)).astype(np.float32)
  m = rng.random((6, 5)) > 0.5
  for k in (0, 3, 9, 30):
    got = np.asarray(selection.keep_top_k(s, m, k))
    np.testing.assert_array_equal(got, reference_top_k_global([s], [m], k)[0])
    assert not (got & ~m).any()


def test_traced_k_under_jit_does_not_recompile_per_k():
  rng = np.random.default_rng(2)
  scores, masks = random_tree(rng, [(4, 4), (9,)], ties=True, masked=0.2)
  traces = []

  @jax.jit
  def run(scores, masks, k):
    traces.append(k)
    return selection.keep_top_k_global(scores, masks, k)

  for k in (0, 5, 11, 25):
    assert_same(run(scores, masks, jnp.int32(k)),
                reference_top_k_global(scores, masks, k))
  assert len(traces) == 1


def test_vmap_over_a_batch_of_leaves():
  s = jnp.array([[3., 1., 2., 2.], [1., 1., 1., 1.]])
  got = jax.vmap(selection.keep_top_k)(s, jnp.ones((2, 4), bool),
                                       jnp.array([2, 3]))
  np.testing.assert_array_equal(got, [[1, 0, 1, 0], [1, 1, 1, 0]])


def test_int_and_bfloat16_scores():
  s = jnp.array([[3, 1], [2, 3]], jnp.int32)
  m = jnp.ones((2, 2), bool)
  np.testing.assert_array_equal(
      selection.keep_top_k(s, m, 2), [[True, False], [False, True]])
  sb = jnp.array([0.5, 0.25, 0.5], jnp.bfloat16)
  np.testing.assert_array_equal(
      selection.keep_top_k(sb, jnp.ones(3, bool), 1), [True, False, False])


def test_shape_mismatch_is_an_error():
  with pytest.raises(ValueError, match='do not match'):
    selection.keep_top_k(jnp.ones(4), jnp.ones((2, 2), bool), 1)


def test_prune_global_counts_are_exact_with_ties():
  params = {'a': jnp.ones((10, 10)), 'b': jnp.ones(50), 'c': jnp.zeros(7)}
  masks = {'a': jnp.ones((10, 10), bool), 'b': jnp.ones(50, bool),
           'c': jnp.ones(7, bool)}
  new = magnitude.prune_global(params, masks, 0.2, level=1)
  kept = {k: int(v.sum()) for k, v in new.items()}
  assert sum(kept.values()) == round(0.8 * 157)
  # All of 'a' (earlier leaf) is kept before any of 'b'; zeros go first.
  assert kept == {'a': 100, 'b': 26, 'c': 0}


_SHARDED = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    from lth_jax.pruning import magnitude
    assert jax.device_count() == 4, jax.devices()
    mesh = Mesh(np.array(jax.devices()).reshape(2, 2), ('data', 'model'))
    specs = {'a': P('data', 'model'), 'b': P(None, 'model'), 'c': P('data')}
    rng = np.random.default_rng(0)
    params = {'a': rng.integers(0, 5, (8, 12)).astype(np.float32),
              'b': rng.standard_normal((6, 4)).astype(np.float32),
              'c': rng.integers(0, 3, (16,)).astype(np.float32)}
    masks = {k: rng.random(v.shape) > 0.2 for k, v in params.items()}
    want = magnitude.prune_global(params, masks, 0.3, level=1)
    put = lambda t: {k: jax.device_put(v, NamedSharding(mesh, specs[k]))
                     for k, v in t.items()}
    sp, sm = put(params), put(masks)
    got = magnitude.prune_global(sp, sm, 0.3, level=1)
    for k in params:
      np.testing.assert_array_equal(np.asarray(got[k]), np.asarray(want[k]))
      assert got[k].sharding.is_equivalent_to(sm[k].sharding, 2), (
          k, got[k].sharding)
    # The eager kernels of every leaf: partitioned, never gathered.
    from lth_jax.pruning import radix_select
    u, i = np.uint32(0), np.int32(3)
    for k in params:
      for hlo in (
          radix_select.value_histogram.lower(
              sp[k], sm[k], u, u, u, chunk=0, absolute=True),
          radix_select.position_histogram.lower(
              sp[k], sm[k], u, i, i, i, chunk=0, absolute=True),
          radix_select.select_kernel.lower(
              sp[k], sm[k], u, 3, absolute=True)):
        text = hlo.compile().as_text()
        assert 'all-gather' not in text and 'all-to-all' not in text, k
    jitted = jax.jit(lambda p, m: magnitude.prune_global(p, m, 0.3, level=1))
    hlo = jitted.lower(sp, sm).compile().as_text()
    assert 'all-gather' not in hlo and 'all-to-all' not in hlo
    out = jitted(sp, sm)
    for k in params:
      np.testing.assert_array_equal(np.asarray(out[k]), np.asarray(want[k]))
      assert out[k].sharding.is_equivalent_to(sm[k].sharding, 2)
    print('SHARDED_OK')
    """)


def test_sharded_params_are_not_gathered():
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=4',
             JAX_PLATFORMS='cpu')
  root = os.path.dirname(os.path.dirname(os.path.dirname(
      os.path.abspath(__file__))))
  result = subprocess.run([sys.executable, '-c', _SHARDED], env=env, cwd=root,
                          capture_output=True, text=True, timeout=120,
                          check=False)
  assert 'SHARDED_OK' in result.stdout, result.stderr[-3000:]


def _bits(values):
  return np.array(values, np.uint32).view(np.float32)


def _adversarial(name):
  """Two leaves (5 x 8 and 19 entries) that stress the radix search."""
  rng = np.random.default_rng(11)
  pick = lambda values: rng.choice(np.asarray(values, np.float32), 59)
  if name == 'all_equal':
    flat = np.full(59, 2.5, np.float32)
  elif name == 'negative_zeros':  # -0.0 and 0.0 are one key.
    flat = pick([-0., 0., 1e-45, -1e-45])
  elif name == 'one_bucket':  # Equal high 16 bits: only the low digit differs.
    flat = _bits(0x3F800000 + rng.integers(0, 7, 59) * 997)
  elif name == 'bucket_edges':  # Keys on both sides of a 16-bit boundary.
    flat = _bits(0x3F810000 + rng.choice([-2, -1, 0, 1, 65535, 65536], 59))
  elif name == 'specials':
    flat = pick([np.inf, -np.inf, np.nan, 3.4e38, -3.4e38, 1e-45, -1e-45, 0.])
  return [flat[:40].reshape(5, 8), flat[40:]]


_TRACED = jax.jit(selection.keep_top_k_global, static_argnames=('absolute',))


@pytest.mark.parametrize('name', ['all_equal', 'negative_zeros', 'one_bucket',
                                  'bucket_edges', 'specials'])
def test_radix_matches_sort_reference_on_adversarial_inputs(name):
  # Tiny and empty leaves: test_global_matches_reference (SHAPES).
  scores = _adversarial(name)
  rng = np.random.default_rng(len(name))
  masks = [rng.random(np.shape(s)) > 0.15 for s in scores]
  remaining = int(sum(m.sum() for m in masks))
  for absolute in (False, True):
    ranked = [np.abs(s) if absolute else s for s in scores]
    for k in sorted({-1, 0, 1, 2, remaining // 3, remaining // 2,
                     remaining - 1, remaining, remaining + 3}):
      want = reference_top_k_global(ranked, masks, k)
      assert_same(selection.keep_top_k_global(scores, masks, k,
                                              absolute=absolute), want)
      assert_same(_TRACED(scores, masks, jnp.int32(k), absolute=absolute),
                  want)


@pytest.mark.parametrize('chunk', [selection._CHUNK, 1 << 20])
def test_ties_split_inside_a_leaf_of_over_2_16_entries(monkeypatch, chunk):
  # The tie position is found 16 bits of the flat index at a time; leaves
  # over 2**16 entries take two passes (chunked, or whole where a leaf is
  # read whole: sharded, here forced by a large _CHUNK).
  monkeypatch.setattr(selection, '_CHUNK', chunk)
  rng = np.random.default_rng(5)
  scores = [rng.integers(0, 3, 5).astype(np.float32),
            rng.integers(0, 3, (350, 200)).astype(np.float32),
            rng.integers(0, 3, 70).astype(np.float32)]
  masks = [rng.random(np.shape(s)) > 0.1 for s in scores]
  twos = sum(int(((s == 2) & m).sum()) for s, m in zip(scores, masks))
  # The split falls in the first, the large, and the last leaf.
  for k in (2, twos // 2 + 1, twos + 3, twos - 4):
    want = reference_top_k_global(scores, masks, k)
    assert_same(selection.keep_top_k_global(scores, masks, k), want)
    assert_same(_TRACED(scores, masks, jnp.int32(k)), want)


def test_unknown_method_is_an_error():
  with pytest.raises(ValueError, match="unknown selection method 'sort'"):
    selection.keep_top_k(jnp.ones(4), jnp.ones(4, bool), 1, method='sort')
