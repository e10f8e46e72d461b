"""Trees written by an earlier orbax release still load.

``tests/data_files/orbax_0.12.8_tree`` was written by ``files.save_tree``
with orbax-checkpoint 0.12.8 (the release the project was built on). An
orbax upgrade that can no longer read it, or reads other values, fails
here before it can strand the results of earlier runs.
"""
import pathlib

import numpy as np

from lth_jax import files

TREE = pathlib.Path(__file__).parent / 'data_files' / 'orbax_0.12.8_tree'
DIGEST = 'b7b85312d4033e675ab4da12c02dd5279f344ed09573b35cb7e68b7c69e6d484'


def expected():
  return {'params': {'Dense_0': {
      'kernel': np.arange(12, dtype=np.float32).reshape(3, 4),
      'bias': np.zeros(4, np.float32)}},
          'masks': {'Dense_0': {'kernel': np.arange(12).reshape(3, 4) % 3 == 0}},
          'step': np.int32(7)}


def test_a_tree_of_the_earlier_release_loads_with_its_values():
  want = expected()
  got = files.load_tree(TREE, like=want)
  assert files.tree_digest(got) == DIGEST == files.tree_digest(want)
  np.testing.assert_array_equal(got['params']['Dense_0']['kernel'],
                                want['params']['Dense_0']['kernel'])
  assert got['masks']['Dense_0']['kernel'].dtype == np.bool_
  assert int(got['step']) == 7
