r"""Sweeps: every execution strategy gives the numbers of one-by-one runs.

The same tiny 4-replicate IMP run goes through ``serial`` (the reference:
one program per replicate, one after another), ``vmap`` and ``map`` here,
and through ``spread`` and ``shard`` in a subprocess whose CPU is split
into 4 devices (``XLA_FLAGS=--xla_force_host_platform_device_count=4``):

  XLA_FLAGS=--xla_force_host_platform_device_count=4 PYTHONPATH=.:tests \
      python tests/lottery/test_sweep.py WORKDIR
"""
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lth_jax import lottery
from lth_jax import pruning
from lth_jax.training import replicates
from lth_jax.runs import storage

from conftest import tiny_config
from conftest import tiny_dataset

REPO = pathlib.Path(__file__).resolve().parents[2]
REPLICATES, LEVELS = 4, 1
DEVICE_STRATEGIES = ('spread', 'shard')


def sweep_config():
  """Two levels of 20 steps, evaluated every 10, no mid-level checkpoints."""
  return tiny_config(levels=LEVELS, steps='20it', replicates=REPLICATES,
                     training__eval_every='10it', checkpoint_every='0it')


def run_sweep(strategy: str, workdir: pathlib.Path) -> dict:
  """Runs the tiny sweep under ``strategy``; returns what it wrote."""
  config = sweep_config()
  config.sweep.strategy = strategy
  lottery.run(config, str(workdir / strategy), dataset=tiny_dataset())
  return results(workdir / strategy / lottery.run_hash(config))


def results(run_dir: pathlib.Path) -> dict:
  """``{(replicate, level): (masks, trained kernels, metrics rows)}``."""
  out = {}
  for r in range(REPLICATES):
    for level in range(LEVELS + 1):
      d = storage.level_dir(run_dir, r, level)
      masks = storage.load_tree(d / 'masks')
      trained = storage.load_tree(d / 'trained')['params']
      weights = dict(zip(pruning.leaf_paths(trained),
                         jax.tree.leaves(trained)))
      paths = pruning.leaf_paths(masks)
      out[r, level] = ([np.asarray(m) for m in jax.tree.leaves(masks)],
                       [np.asarray(weights[p]) for p in paths],
                       storage.read_jsonl(d / 'metrics.jsonl'))
  return out


#: What float reassociation may change: trained weights (and so metrics) by
#: this relative amount.
RTOL, ATOL = 1e-4, 1e-6


def assert_masks_agree(masks_a, masks_b, weights_a, where) -> int:
  """What a sweep guarantees for masks pruned from re-associated weights.

  Each layer keeps exactly the same number of weights, and a weight kept by
  one run and pruned by the other lies within float tolerance of the
  layer's threshold (the smallest kept magnitude): an exact tie up to
  rounding, which no rule can break the same way in both runs. Returns
  how many entries differ.
  """
  flipped = 0
  for a, b, w in zip(masks_a, masks_b, weights_a, strict=True):
    assert a.sum() == b.sum(), (where, 'per-layer counts differ')
    diff = a != b
    if diff.any():
      threshold = np.abs(w[a]).min()
      gap = np.abs(np.abs(w[diff]) - threshold)
      assert (gap <= RTOL * threshold + ATOL).all(), (
          where, 'a mask differs away from the threshold', gap.max(),
          threshold)
      flipped += int(diff.sum())
  return flipped


def assert_close(a: dict, b: dict, exact: bool = False) -> None:
  """Identical masks (or flips at exact ties, see ``assert_masks_agree``),
  trained weights and metrics equal up to float reassociation (or exactly).

  A level trained from a mask with tie flips may differ a little more: its
  metrics are compared at 10x the tolerance.
  """
  assert a.keys() == b.keys()
  flips = {}
  for key in sorted(a):
    (masks_a, weights_a, rows_a), (masks_b, weights_b, rows_b) = a[key], b[
        key]
    r, level = key
    if exact:
      for x, y in zip(masks_a + weights_a, masks_b + weights_b, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=str(key))
    else:
      prev = a.get((r, level - 1))
      flips[key] = assert_masks_agree(
          masks_a, masks_b, prev[1] if prev else weights_a, key)
    flipped = any(flips.get((r, l)) for l in range(level + 1))
    scale = 10 if flipped else 1
    if not exact and not flipped:
      for x, y in zip(weights_a, weights_b, strict=True):
        np.testing.assert_allclose(x, y, rtol=RTOL * scale, atol=ATOL,
                                   err_msg=str(key))
    assert [row['step'] for row in rows_a] == [row['step'] for row in rows_b]
    for ra, rb in zip(rows_a, rows_b):
      for field in ('train_loss', 'val_loss', 'val_acc', 'test_loss',
                    'test_acc'):
        if ra[field] is None:
          assert rb[field] is None
        elif exact:
          assert ra[field] == rb[field], (key, ra['step'], field)
        else:
          assert ra[field] == pytest.approx(
              rb[field], rel=RTOL * scale, abs=1e-5 * scale), (
                  key, ra['step'], field)


@pytest.fixture(scope='module')
def serial(tmp_path_factory):
  return run_sweep('serial', tmp_path_factory.mktemp('sweep'))


def test_replicates_differ(serial):
  """The comparison has teeth: the replicates' runs are not all alike."""
  level1 = [serial[r, 1] for r in range(REPLICATES)]
  assert not np.array_equal(level1[0][0][0], level1[1][0][0])
  assert level1[0][2][-1]['val_loss'] != level1[1][2][-1]['val_loss']


def test_mask_guarantee_has_teeth(serial):
  """A flip away from the threshold, or a count change, fails the check."""
  masks, _, _ = serial[0, 1]
  weights = serial[0, 0][1]
  assert assert_masks_agree(masks, masks, weights, 'same') == 0
  leaf = next(i for i, m in enumerate(masks) if m.ndim == 2)
  w, m = weights[leaf], masks[leaf]
  kept = np.argwhere(m)[np.argmax(np.abs(w[m]))]     # the largest kept
  pruned = np.argwhere(~m)[np.argmin(np.abs(w[~m]))]  # the smallest pruned
  swapped = [x.copy() for x in masks]
  swapped[leaf][tuple(kept)], swapped[leaf][tuple(pruned)] = False, True
  with pytest.raises(AssertionError, match='away from the threshold'):
    assert_masks_agree(masks, swapped, weights, 'swap')
  fewer = [x.copy() for x in masks]
  fewer[leaf][tuple(kept)] = False
  with pytest.raises(AssertionError, match='counts differ'):
    assert_masks_agree(masks, fewer, weights, 'count')


@pytest.mark.parametrize('strategy', ['vmap', 'map'])
def test_one_device_strategies_match_serial(serial, strategy, tmp_path):
  assert_close(run_sweep(strategy, tmp_path), serial)


def test_device_strategies_match_serial(serial, tmp_path):
  env = dict(os.environ, PYTHONPATH=f'{REPO}:{REPO / "tests"}',
             XLA_FLAGS='--xla_force_host_platform_device_count=4')
  proc = subprocess.run([sys.executable, __file__, str(tmp_path)], env=env,
                        capture_output=True, text=True, check=False)
  assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
  for strategy in DEVICE_STRATEGIES:
    got = results(tmp_path / strategy / lottery.run_hash(sweep_config()))
    # 'spread' runs the very programs of 'serial', on other devices.
    assert_close(got, serial, exact=strategy == 'spread')


def test_auto_and_strategy_names():
  assert replicates.resolve_strategy('auto', 1, backend='gpu') == 'serial'
  assert replicates.resolve_strategy('auto', 4, backend='tpu') == (
      'shard' if jax.device_count() > 1 else 'vmap')
  on_cpu = replicates.resolve_strategy('auto', 4, backend='cpu')
  assert on_cpu == ('spread' if jax.local_device_count() > 1 else 'serial')
  with pytest.raises(ValueError, match="unknown sweep strategy 'pmap'"):
    replicates.resolve_strategy('pmap', 4)
  with pytest.raises(ValueError, match='resolve'):
    replicates.Executor('auto')


def test_split_host_cpu_only_before_jax_starts():
  jax.devices()  # JAX has started in this process
  assert not replicates.split_host_cpu(3)
  code = ('import jax; from lth_jax.training import replicates as r; '
          'assert r.split_host_cpu(3); print(jax.device_count(), '
          "r.resolve_strategy('auto', 2))")
  env = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}
  out = subprocess.run([sys.executable, '-c', code], check=True, text=True,
                       capture_output=True, env=dict(env, PYTHONPATH=str(
                           REPO))).stdout
  assert out.split() == ['3', 'spread']


def _check_shard_layout() -> None:
  """``shard`` splits big per-replicate arrays over the devices, copies
  small outputs to all, and pads counts the devices do not divide."""

  def fn(tree, shared):
    return {'x': jnp.sin(tree['x']) * shared, 'sum': tree['x'].sum()}

  shard = replicates.Executor('shard')
  one_by_one = replicates.Executor('serial')
  for count in (4, 3):
    stacked = {'x': jnp.arange(count * 70, dtype=jnp.float32).reshape(
        count, 70)}
    want = one_by_one(('f',), fn, stacked, 2.0)
    got = shard(('f',), fn, shard.place(stacked), shard.replicated(2.0))
    for a, b in zip(jax.tree.leaves(want), jax.tree.leaves(got),
                    strict=True):
      np.testing.assert_allclose(a, b, rtol=1e-6)
    split = count == 4
    assert got['x'].addressable_shards[0].data.shape == (
        (1, 70) if split else (count, 70))
    assert got['sum'].sharding.is_fully_replicated


def main(workdir: str) -> None:
  """The device strategies, in a process with 4 CPU devices."""
  assert jax.device_count() == 4, jax.devices()
  assert not replicates.split_host_cpu()  # XLA_FLAGS already chose
  assert replicates.resolve_strategy('auto', REPLICATES) == 'spread'
  _check_shard_layout()
  for strategy in DEVICE_STRATEGIES:
    run_sweep(strategy, pathlib.Path(workdir))


if __name__ == '__main__':
  main(sys.argv[1])
