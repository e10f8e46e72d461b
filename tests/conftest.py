"""Shared fixtures: the real-data root and tiny data sets."""
import os
import pathlib

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / 'shared' / 'data'


def real_data_root(name: str = 'mnist') -> pathlib.Path:
  """The raw-data root holding ``name``, or skip with the reason printed."""
  root = pathlib.Path(os.environ.get('LTH_DATA_DIR', SHARED_DATA))
  if not (root / name).is_dir():
    reason = (f'real data {name!r} not found under {root}; set LTH_DATA_DIR '
              'to a folder holding it (see README, offline data).')
    print(f'SKIP: {reason}')
    pytest.skip(reason)
  return root


@pytest.fixture
def mnist_root() -> pathlib.Path:
  return real_data_root('mnist')


def tiny_dataset(n_train: int = 240, n_test: int = 120, seed: int = 0,
                 num_classes: int = 10):
  """A learnable generated MNIST-shaped data set (class-dependent means)."""
  from lth_jax import data  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(seed)
  centers = rng.normal(size=(num_classes, 28, 28, 1)).astype(np.float32)

  def split(n):
    y = rng.integers(0, num_classes, n).astype(np.int32)
    x = centers[y] + 0.5 * rng.normal(size=(n, 28, 28, 1)).astype(np.float32)
    return x, y

  (x, y), (tx, ty) = split(n_train), split(n_test)
  return data.dataset.hold_out('tiny', num_classes, x, y, tx, ty, n_train // 4)


def tiny_config(levels: int = 2, steps: str = '40it', **overrides):
  """A LeNet IMP config for ``tiny_dataset`` (fields as ``a.b=value``)."""
  from lth_jax import lottery  # pylint: disable=import-outside-toplevel
  c = lottery.default_config()
  c.data.name = 'mnist'
  c.training.batch_size = 16
  c.training.steps = steps
  c.training.eval_every = '20it'
  c.checkpoint_every = '20it'
  c.pruning.levels = levels
  c.progress = False
  for field, value in overrides.items():
    node, _, leaf = field.rpartition('__')
    (c[node] if node else c)[leaf] = value
  return c


def shared_tmp(tmp_path_factory) -> pathlib.Path:
  """A temporary folder shared by all pytest-xdist workers of a session."""
  base = tmp_path_factory.getbasetemp()
  return base.parent if os.environ.get('PYTEST_XDIST_WORKER') else base


@pytest.fixture(autouse=True, scope='session')
def shared_compilation_cache(tmp_path_factory):
  """One persistent XLA cache for the session's pytest-xdist workers.

  Many tests compile the same programs (same model, config and shapes) in
  fresh objects; with the cache a repeat is read from disk instead of
  compiled again. Cached executables are the very programs a compile
  would produce, so results are unchanged. ``LTH_TEST_XLA_CACHE=0`` turns
  it off.
  """
  if os.environ.get('LTH_TEST_XLA_CACHE', '1') == '0':
    yield None
    return
  import jax  # pylint: disable=import-outside-toplevel
  cache = shared_tmp(tmp_path_factory) / 'xla_cache'
  cache.mkdir(exist_ok=True)
  jax.config.update('jax_compilation_cache_dir', str(cache))
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)
  jax.config.update('jax_persistent_cache_min_entry_size_bytes', -1)
  yield cache
