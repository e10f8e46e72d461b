"""2:4 export: values + 2-bit metadata, checked by a loop decoder."""
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax.export import sparse24
from lth_jax.pruning import structured


def loop_decode(p, k):
  """Reads the metadata bit by bit: an independent decoder."""
  rows = p.values.shape[0]
  out = np.zeros((rows, p.metadata.shape[1] * 16), p.values.dtype)
  for r in range(rows):
    for v in range(p.values.shape[1]):
      word, slot = divmod(v, 8)
      position = (int(p.metadata[r, word]) >> (2 * slot)) & 3
      out[r, 4 * (v // 2) + position] += p.values[r, v]
  return out[:, :k]


@pytest.mark.parametrize('shape', [(20, 6), (3, 3, 8, 5)])
def test_round_trip_of_a_prune_n_m_mask(shape):
  rng = np.random.default_rng(0)
  kernel = rng.normal(size=shape).astype(np.float32)
  mask = np.asarray(structured.n_m_mask(jnp.abs(kernel),
                                        rng.random(shape) < .8, 2, 4))
  p = sparse24.compress(kernel, mask)
  k = int(np.prod(shape[:-1]))
  assert p.values.shape == (shape[-1], (k + 15) // 16 * 8)
  assert p.metadata.shape == (shape[-1], (k + 15) // 16)
  assert p.metadata.dtype == np.uint16
  want = np.where(mask, kernel, 0)
  np.testing.assert_array_equal(sparse24.decompress(p), want)
  np.testing.assert_array_equal(loop_decode(p, k),
                                want.reshape(k, shape[-1]).T)
  index = (p.metadata[..., None] >> (2 * np.arange(8, dtype=np.uint16))) & 3
  pairs = index.reshape(shape[-1], -1, 2)
  assert (pairs[..., 0] < pairs[..., 1]).all()  # distinct, ascending.


def test_a_group_keeping_three_is_named():
  kernel = np.ones((8, 2), np.float32)
  mask = np.zeros((8, 2), bool)
  mask[4:7, 1] = True
  with pytest.raises(ValueError, match=r'output 1, inputs 4\.\.7 keep 3'):
    sparse24.compress(kernel, mask, 'params/output/kernel')
