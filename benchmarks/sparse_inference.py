r"""Sparse inference of exported LeNet-300-100 tickets vs. the dense forward.

For each density, a ticket is exported (``lth_jax.export``), loaded back,
and run two ways on the real MNIST test set (10,000 images):

* ``dense``: the Flax model on ``params * masks`` (the masked forward that
  training runs; the mask multiply is inside the jitted call);
* ``sparse``: ``lth_jax.export.mlp_forward``, every layer a BCOO
  ``jax.experimental.sparse`` matrix holding only the kept weights.

Reported: latency at batch 1 (median of ``--calls`` calls), throughput at
batch 1,000 (best of ``--repeats`` passes over the test set), whether the
predictions are identical, the largest logit difference, and the ticket's
bytes against the dense network's orbax checkpoint (level 0's
``trained``), the level's own (compressed) ``trained`` checkpoint and the
raw float32 bytes.

Masks come from a lottery run's levels (the LTH trunk: 21.1 % is level 7,
7.0 % level 12, 3.6 % level 15); a density with no level (1 %) is made by
exact global magnitude pruning of the deepest level's trained weights (so
its weights are not a trained ticket; timings and sizes are what matter).

  python -m benchmarks.sparse_inference \
      --run_dir=results/lth_lenet_copy --levels=7,12,15 --extra=0.01
"""
import json
import pathlib
import tempfile
import time

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import data as data_lib
from lth_jax import export
from lth_jax import pruning
from lth_jax.lottery import config as config_lib
from lth_jax.runs import storage
from lth_jax.pruning import selection

_RUN_DIR = flags.DEFINE_string('run_dir', '', 'workdir/<run-hash> of a run.')
_REPLICATE = flags.DEFINE_integer('replicate', 0, 'Replicate to export.')
_LEVELS = flags.DEFINE_list('levels', ['7', '12', '15'], 'Levels to export.')
_EXTRA = flags.DEFINE_list('extra', ['0.01'],
                           'Densities made by magnitude pruning the last '
                           'level.')
_CALLS = flags.DEFINE_integer('calls', 300, 'Batch-1 calls (median).')
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Batch-1000 passes (best).')
_DATA_ROOT = flags.DEFINE_string('data_root', '', 'Raw data root (MNIST).')
_OUT = flags.DEFINE_string('out', '', 'Write the rows as JSON here.')


def dir_bytes(path: pathlib.Path) -> int:
  return sum(p.stat().st_size for p in path.rglob('*') if p.is_file())


def latency_ms(fn, x) -> float:
  jax.block_until_ready(fn(x))
  times = []
  for _ in range(_CALLS.value):
    tic = time.perf_counter()
    jax.block_until_ready(fn(x))
    times.append(time.perf_counter() - tic)
  return 1e3 * float(np.median(times))


def throughput(fn, images, batch: int = 1000) -> float:
  batches = [images[i:i + batch] for i in range(0, len(images), batch)]
  jax.block_until_ready(fn(batches[0]))
  best = float('inf')
  for _ in range(_REPEATS.value):
    tic = time.perf_counter()
    for b in batches:
      out = fn(b)
    jax.block_until_ready(out)
    best = min(best, time.perf_counter() - tic)
  return len(images) / best


def magnitude_mask(params, masks, density: float):
  """Exact global magnitude mask keeping ``density`` of the prunable."""
  m_leaves, treedef = jax.tree.flatten(masks, is_leaf=lambda x: x is None)
  p_leaves = treedef.flatten_up_to(params)
  idx = [i for i, m in enumerate(m_leaves) if m is not None]
  total = sum(m_leaves[i].size for i in idx)
  kept = selection.keep_top_k_global(
      [p_leaves[i] for i in idx], [m_leaves[i] for i in idx],
      round(density * total), absolute=True)
  for i, new in zip(idx, kept):
    m_leaves[i] = np.asarray(new)
  return jax.tree.unflatten(treedef, m_leaves)


def measure(name: str, ticket_path: pathlib.Path, level_trained, dense_ckpt,
            images, labels) -> dict:
  """One row: sizes, timings and agreement of a ticket file."""
  t = export.load_ticket(ticket_path)
  model, variables = export.to_flax(t)
  masks = jax.tree.map(lambda m: None if m is None else jnp.asarray(m),
                       t.masks()['params'], is_leaf=lambda x: x is None)
  params = variables['params']

  @jax.jit
  def dense(x):
    return model.apply({'params': pruning.apply_masks(params, masks)}, x)

  layers = export.sparse_mlp(t)

  def sparse(x):
    return export.mlp_forward(layers, x)

  logits_d = np.concatenate([dense(images[i:i + 1000])
                             for i in range(0, len(images), 1000)])
  logits_s = np.concatenate([sparse(images[i:i + 1000])
                             for i in range(0, len(images), 1000)])
  prunable = sum(m.size for m in jax.tree.leaves(masks))  # None: none.
  raw = sum(np.asarray(x).nbytes for x in jax.tree.leaves(params))
  size = ticket_path.stat().st_size
  one = images[:1]
  return {
      'ticket': name, 'weights_pct': 100 * t.kept() / prunable,
      'ticket_bytes': size, 'dense_ckpt_bytes': dense_ckpt,
      'vs_dense_ckpt_pct': 100 * size / dense_ckpt,
      'level_ckpt_bytes': level_trained,
      'vs_level_ckpt_pct': (100 * size / level_trained if level_trained
                            else None),
      'vs_raw_f32_pct': 100 * size / raw,
      'dense_b1_ms': latency_ms(dense, one),
      'sparse_b1_ms': latency_ms(sparse, one),
      'dense_b1000_per_s': throughput(dense, images),
      'sparse_b1000_per_s': throughput(sparse, images),
      'identical_predictions': bool(
          (logits_d.argmax(1) == logits_s.argmax(1)).all()),
      'differing_predictions': int(
          (logits_d.argmax(1) != logits_s.argmax(1)).sum()),
      'max_logit_diff': float(np.abs(logits_d - logits_s).max()),
      'test_acc': float((logits_s.argmax(1) == labels).mean()),
  }


def markdown(rows: list[dict]) -> str:
  lines = [
      '| ticket | weights % | ticket KB | / dense ckpt | / level ckpt | '
      'dense b=1 (ms) | sparse b=1 (ms) | dense b=1000 (img/s) | '
      'sparse b=1000 (img/s) | same predictions | max logit diff | '
      'test acc |', '|' + '---|' * 12]
  for r in rows:
    level = (f'{r["vs_level_ckpt_pct"]:.1f} %'
             if r['vs_level_ckpt_pct'] else '-')
    lines.append(
        f'| {r["ticket"]} | {r["weights_pct"]:.2f} | '
        f'{r["ticket_bytes"] / 1e3:.1f} | {r["vs_dense_ckpt_pct"]:.2f} % | '
        f'{level} | {r["dense_b1_ms"]:.3f} | {r["sparse_b1_ms"]:.3f} | '
        f'{r["dense_b1000_per_s"]:,.0f} | {r["sparse_b1000_per_s"]:,.0f} | '
        f'{"yes" if r["identical_predictions"] else "NO"} '
        f'({r["differing_predictions"]} differ) | '
        f'{r["max_logit_diff"]:.1e} | {100 * r["test_acc"]:.2f} |')
  return '\n'.join(lines)


def main(argv):
  del argv
  run_dir = pathlib.Path(_RUN_DIR.value)
  if not (run_dir / 'config.json').exists():
    raise app.UsageError(f'--run_dir={run_dir} holds no config.json; pass '
                         'workdir/<run-hash> of a finished lottery run.')
  data_config = config_lib.default_config().data
  data_config.name, data_config.source = 'mnist', 'raw'
  data_config.root = _DATA_ROOT.value
  ds = data_lib.get_dataset(data_config)
  images, labels = jnp.asarray(ds.test_images), np.asarray(ds.test_labels)
  r = _REPLICATE.value
  dense_ckpt = dir_bytes(storage.level_dir(run_dir, r, 0) / 'trained')
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    for level in map(int, _LEVELS.value):
      path = pathlib.Path(tmp) / f'level_{level}.lth'
      export.export_level(run_dir, r, level, path, input_shape=(28, 28, 1))
      level_ckpt = dir_bytes(storage.level_dir(run_dir, r, level)
                             / 'trained')
      rows.append(measure(f'level {level}', path, level_ckpt, dense_ckpt,
                          images, labels))
      print(json.dumps(rows[-1]), flush=True)
    last = max(map(int, _LEVELS.value))
    d = storage.level_dir(run_dir, r, last)
    trained = storage.load_tree(d / 'trained')
    masks = storage.load_tree(d / 'masks')
    for density in map(float, _EXTRA.value):
      path = pathlib.Path(tmp) / f'magnitude_{density}.lth'
      new = magnitude_mask(trained['params'], masks, density)
      export.save_ticket(path, {'params': trained['params']}, new,
                         model='lenet300_100',
                         config={'input_shape': [28, 28, 1]})
      rows.append(measure(f'level {last} pruned to {100 * density:g} %',
                          path, None, dense_ckpt, images, labels))
      print(json.dumps(rows[-1]), flush=True)
  print(markdown(rows))
  if _OUT.value:
    pathlib.Path(_OUT.value).write_text(json.dumps(rows, indent=1))


if __name__ == '__main__':
  app.run(main)
