r"""Inference of exported tickets: which CPU path wins, when.

For each density, a ticket of a lottery run (LeNet-300-100 or the 20
Newsgroups text CNN) is exported (``lth_jax.export``), loaded back, and
run on the run's real test set by every path, side by side in one process:

* ``dense``: the Flax model on ``params * masks`` (the masked forward that
  training runs; the mask multiply is inside the jitted call);
* ``slim``: the slimmed dense network, jitted (``lth_jax.export.slim``:
  dead and zombie units and unread inputs removed, zombie constants folded;
  text CNN: ``slim_text``, inactive and zombie filters and unread embedding
  columns removed);
* ``bcoo``: every layer a BCOO ``jax.experimental.sparse`` matrix holding
  only the kept weights (``lth_jax.export.mlp_forward``; text CNN:
  ``sparse.text_forward``, embedding gather, conv taps and output);
* ``csr``: the slim network through numba kernels, one thread
  (``lth_jax.export.csr``; text CNN: ``csr_text``, embedding, taps and
  output all sparse);
* ``scipy`` (MLPs only): the same CSR layers through ``scipy.sparse``.

Timed per batch size (1, 32, 1,000): the median of ``--calls`` calls
(``--calls // 10`` at 1,000) per path, in ``--rounds`` rounds; each path
keeps its best round (the machine is shared). ``--interleave`` (default)
alternates the paths call by call, so that load from other jobs hits all
alike; ``--nointerleave`` runs each path's calls back to back (its
hot-loop best case). The load average is printed before and after.
Speed-ups are against ``dense`` in the same process. Also reported:
whether each path's predictions equal the dense ones on the whole test
set, the largest logit difference, what slimming removed, and the ticket's
bytes. The data set is the run's (``config.json``; ``--data_root`` over
its root).

Masks come from a lottery run's levels (``--levels``); a density with no
level (``--extra``) is made by exact global magnitude pruning of the
deepest level's trained weights (so its weights are not a trained ticket).

  python -m benchmarks.sparse_inference --run_dir=RUN --levels=3,7,12,15,21 \
      --extra= --out_dir=DIR   # DIR/rows.json, DIR/provenance.json
"""
import json
import os
import pathlib
import tempfile
import time

from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

from experiments import cli
from lth_jax import data as data_lib
from lth_jax import errors
from lth_jax import export
from lth_jax import files
from lth_jax import provenance
from lth_jax.export import csr
from lth_jax.export import csr_text
from lth_jax.export import slim
from lth_jax.export import slim_text
from lth_jax.export import sparse
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
_CALLS = flags.DEFINE_integer('calls', 300, 'Calls per batch size and '
                              'round (median; a tenth at batch 1,000).')
_ROUNDS = flags.DEFINE_integer('rounds', 3, 'Rounds (each path: its best).')
_INTERLEAVE = flags.DEFINE_bool('interleave', True, 'Alternate the paths '
                                'call by call (else: back to back).')
_BATCHES = flags.DEFINE_list('batches', ['1', '32', '1000'], 'Batch sizes.')
_DATA_ROOT = flags.DEFINE_string('data_root', '', 'Raw data root (MNIST).')
_OUT_DIR = flags.DEFINE_string('out_dir', '', 'Write the rows '
                                '(rows.json) and provenance.json here.')


def dir_bytes(path: pathlib.Path) -> int:
  return sum(p.stat().st_size for p in path.rglob('*') if p.is_file())


def median_ms(fns: dict, inputs: dict, calls: int) -> dict[str, float]:
  """Median milliseconds per path. With ``--interleave`` the paths' calls
  alternate one by one (a busy machine slows all alike, and no path runs
  hot from its own previous call); without, each path's calls run back to
  back (every path's hot-loop best case)."""
  for k, fn in fns.items():
    jax.block_until_ready(fn(inputs[k]))
  times = {k: [] for k in fns}
  order = ([list(fns)] * calls if _INTERLEAVE.value
           else [[k] * calls for k in fns])
  for keys in order:
    for k in keys:
      tic = time.perf_counter()
      jax.block_until_ready(fns[k](inputs[k]))
      times[k].append(time.perf_counter() - tic)
  return {k: 1e3 * float(np.median(v)) for k, v in times.items()}


def batched(fn, images, batch: int = 1000) -> np.ndarray:
  return np.concatenate([np.asarray(fn(images[i:i + batch]))
                         for i in range(0, len(images), batch)])


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


def mlp_paths(t) -> tuple[dict, dict]:
  """Every inference path of an MLP ticket: name -> (fn, takes NumPy)."""
  model, variables = export.to_flax(t)
  params, masks = variables['params'], _masks(t)
  s = slim.slim_mlp(t.dense()['params'], t.masks()['params'])
  layers = export.sparse_mlp(t)
  csr_model = csr.CsrMLP.from_slim(s)
  fns = {
      'dense': (jax.jit(lambda x: model.apply(
          {'params': pruning.apply_masks(params, masks)}, x)), False),
      'slim': (jax.jit(lambda x: slim.slim_forward(s, x)), False),
      'bcoo': (lambda x: export.mlp_forward(layers, x), False),
      'scipy': (lambda x: csr.forward(csr_model, x, 'scipy'), True)}
  if 'numba' in csr.available_backends():
    fns['csr'] = (lambda x: csr.forward(csr_model, x, 'numba'), True)
  report = slim.report(t.dense()['params'], t.masks()['params'], s)
  return fns, {'units_label': '(in, h0, h1, out)', **report}


def text_paths(t) -> tuple[dict, dict]:
  """Every inference path of a text-CNN ticket (no scipy path: its conv
  is not one sparse matrix product)."""
  model, variables = export.to_flax(t)
  params, masks = variables['params'], _masks(t)
  dense, bool_masks = t.dense()['params'], t.masks()['params']
  s = slim_text.slim_text(dense, bool_masks)
  layers = sparse.sparse_text(dense, bool_masks)
  fns = {
      'dense': (jax.jit(lambda x: model.apply(
          {'params': pruning.apply_masks(params, masks)}, x)), False),
      'slim': (jax.jit(lambda x: slim_text.slim_text_forward(s, x)), False),
      'bcoo': (jax.jit(lambda x: sparse.text_forward(layers, x)), False)}
  if csr_text.available():
    csr_model = csr_text.CsrText.from_slim(s)
    fns['csr'] = (lambda x: csr_text.forward(csr_model, x), True)
  return fns, slim_text.text_report(dense, bool_masks, s)


def _masks(t):
  return jax.tree.map(lambda m: None if m is None else jnp.asarray(m),
                      t.masks()['params'], is_leaf=lambda x: x is None)


def paths(t) -> tuple[dict, dict]:
  """The paths of a ticket and what slimming removed."""
  return (text_paths if t.model == 'text_cnn_ensemble' else mlp_paths)(t)


def measure(name: str, ticket_path: pathlib.Path, level_trained, dense_ckpt,
            images, labels) -> dict:
  """One row: sizes, slimming, timings and agreement of a ticket file."""
  t = export.load_ticket(ticket_path)
  fns, report = paths(t)
  np_images = np.asarray(images)
  logits = {k: batched(fn, np_images if numpy else images)
            for k, (fn, numpy) in fns.items()}
  dense = logits['dense']
  prunable = sum(m.size for _, m in t.leaves.values() if m is not None)
  raw = sum(v.nbytes for v, _ in t.leaves.values())
  size = ticket_path.stat().st_size
  row = {
      'ticket': name, 'weights_pct': 100 * t.kept() / prunable,
      'ticket_bytes': size, 'dense_ckpt_bytes': dense_ckpt,
      'vs_dense_ckpt_pct': 100 * size / dense_ckpt,
      'level_ckpt_bytes': level_trained,
      'vs_raw_f32_pct': 100 * size / raw, 'slim': report,
      'test_acc': float((dense.argmax(1) == labels).mean()),
      'examples': len(labels),
      'differing_predictions': {k: int((v.argmax(1) != dense.argmax(1)).sum())
                                for k, v in logits.items()},
      'max_logit_diff': {k: float(np.abs(v - dense).max())
                         for k, v in logits.items()},
      'ms': {}}
  for batch in map(int, _BATCHES.value):
    calls = max(_CALLS.value // 10, 5) if batch >= 1000 else _CALLS.value
    inputs = {k: (np_images if numpy else images)[:batch]
              for k, (_, numpy) in fns.items()}
    best = {}
    for _ in range(_ROUNDS.value):
      ms = median_ms({k: fn for k, (fn, _) in fns.items()}, inputs, calls)
      best = {k: min(best.get(k, float('inf')), v) for k, v in ms.items()}
    row['ms'][batch] = best
  return row


def markdown(rows: list[dict]) -> str:
  """The speed table: ms per batch and the speed-up over dense."""
  names = list(rows[0]['ms'][next(iter(rows[0]['ms']))])
  lines = ['| ticket | weights % | batch | ' + ' | '.join(
      f'{k} ms (x)' for k in names) + ' | best |',
           '|' + '---|' * (len(names) + 4)]
  for r in rows:
    for batch, ms in r['ms'].items():
      cells = [f'{ms[k]:.4f} ({ms["dense"] / ms[k]:.2f}x)' for k in names]
      lines.append(f'| {r["ticket"]} | {r["weights_pct"]:.2f} | {batch} | '
                   + ' | '.join(cells) + f' | {min(ms, key=ms.get)} |')
  lines += ['', f'| ticket | units {rows[0]["slim"]["units_label"]} after '
            'slimming | params removed | ticket KB | / dense ckpt | test acc | '
            f'predictions differing from dense (of {rows[0]["examples"]:,}) '
            '| max logit diff |', '|' + '---|' * 8]
  for r in rows:
    s = r['slim']
    differ = ', '.join(f'{k} {v}' for k, v in r['differing_predictions']
                       .items() if k != 'dense')
    diff = max(v for k, v in r['max_logit_diff'].items())
    lines.append(
        f'| {r["ticket"]} | {s["units_after"]} | {s["params_removed"]:,} '
        f'({100 * s["params_removed"] / s["params_before"]:.1f} %) | '
        f'{r["ticket_bytes"] / 1e3:.1f} | {r["vs_dense_ckpt_pct"]:.2f} % | '
        f'{100 * r["test_acc"]:.2f} | {differ} | {diff:.1e} |')
  return '\n'.join(lines)


def data_config_of(run_dir: pathlib.Path):
  """The run's data config (its ``config.json``), ``--data_root`` over
  its root."""
  data_config = config_lib.default_config().data
  for key, value in storage.read_config(run_dir).items():
    parts = key.split('.')
    if parts[0] == 'data':
      node = data_config
      for part in parts[1:-1]:
        node = node[part]
      node[parts[-1]] = value
  if _DATA_ROOT.value:
    data_config.root = _DATA_ROOT.value
  return data_config


def main(argv):
  del argv
  run_dir = pathlib.Path(_RUN_DIR.value)
  if not (run_dir / 'config.json').exists():
    raise errors.MissingInputError(
        f'--run_dir={run_dir} holds no config.json; pass '
        'workdir/<run-hash> of a finished lottery run.')
  config = storage.read_config(run_dir)
  ds = data_lib.get_dataset(data_config_of(run_dir))
  images, labels = jnp.asarray(ds.test_images), np.asarray(ds.test_labels)
  shape = (None if np.issubdtype(ds.test_images.dtype, np.integer)
           else ds.test_images.shape[1:])
  r = _REPLICATE.value
  load_before = os.getloadavg()
  dense_ckpt = dir_bytes(storage.level_dir(run_dir, r, 0) / 'trained')
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    for level in map(int, _LEVELS.value):
      path = pathlib.Path(tmp) / f'level_{level}.lth'
      export.export_level(run_dir, r, level, path, input_shape=shape)
      level_ckpt = dir_bytes(storage.level_dir(run_dir, r, level)
                             / 'trained')
      rows.append(measure(f'level {level}', path, level_ckpt, dense_ckpt,
                          images, labels))
      print(json.dumps(rows[-1]), flush=True)
    last = max(map(int, _LEVELS.value))
    d = storage.level_dir(run_dir, r, last)
    trained = storage.load_tree(d / 'trained')
    masks = storage.load_tree(d / 'masks')
    for density in map(float, filter(None, _EXTRA.value)):
      path = pathlib.Path(tmp) / f'magnitude_{density}.lth'
      new = magnitude_mask(trained['params'], masks, density)
      export.save_ticket(path, {'params': trained['params']}, new,
                         model=config['model'],
                         model_kwargs=config.get('model_kwargs') or {},
                         config={'input_shape': shape and list(shape)})
      rows.append(measure(f'level {last} pruned to {100 * density:g} %',
                          path, None, dense_ckpt, images, labels))
      print(json.dumps(rows[-1]), flush=True)
  print(f'CPU: {provenance.cpu_name()}, {os.cpu_count()} cores, '
        f'jax {jax.__version__}, load average {load_before} before, '
        f'{os.getloadavg()} after')
  print(markdown(rows))
  if _OUT_DIR.value:
    files.write_json(pathlib.Path(_OUT_DIR.value) / 'rows.json', rows)
  print(provenance.note(_OUT_DIR.value or None))


if __name__ == '__main__':
  cli.run(main)
