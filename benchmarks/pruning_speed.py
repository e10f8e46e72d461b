r"""Time and peak memory of exact global magnitude pruning, 1 M to 1 B weights.

  python -m benchmarks.pruning_speed --sizes=100M --with_1b --out=speed.csv

The params are a float32 pytree of ``--leaves`` kernels of mixed sizes
(plus unprunable biases); masks start all-ones and every method prunes
``--rate`` at level 1 (global, one threshold). Methods:

* ``radix_jit``: ``keep_top_k_global(params, masks, k, absolute=True)``
  (the radix selection, 3 passes) under ``jax.jit`` with the masks
  donated: no copy of ``|w|``, new masks written over the old ones;
* ``bitwise_jit``: the same with ``method='bitwise'``, the 33-pass search
  the radix selection replaces: the baseline of the ``vs bitwise`` ratio;
* ``prune_global``: ``lth_jax.pruning.prune_global`` called eagerly, as a
  user would (it ranks ``|w|`` in place; new masks beside the old ones);
* ``radix_eager``, ``bitwise_eager`` (not run by default): the lean
  selections called eagerly;
* ``naive``: concatenate ``|w|`` of all leaves, ``jnp.sort``, threshold,
  ties split with a ``cumsum`` (jitted, masks donated).

Every method but ``naive`` runs in one subprocess per size, on the same
params, so ``vs bitwise`` is a ratio within one process; ``naive`` runs in
its own (its sort needs several times the params' memory). Time: best of
``--repeats`` warm calls (compile: the first call less a warm one) or one
call of the AOT-compiled program (naive), with the CPU seconds of all the
process's threads in that call (less sensitive to a loaded machine than
the wall time); each timing records ``os.getloadavg()``. Peak memory: the
process's peak RSS during the timed call (VmHWM, reset through
``/proc/self/clear_refs``) minus its RSS before the call, over the bytes
of the params (the largest over the timed calls); ``scratch`` leaves out
the new masks. ``identical`` compares
mask fingerprints with ``bitwise_jit`` (and ``naive`` where it ran). A
naive run that would not fit in RAM or ``--naive_max_seconds`` is skipped
and reported with its extrapolated need.
"""
import csv
import ctypes
import dataclasses
import functools
import hashlib
import json
import os
import resource
import subprocess
import sys
import time

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

from lth_jax import pruning
from lth_jax import provenance
from lth_jax.pruning import selection

_SIZES = flags.DEFINE_list('sizes', ['1M', '20M', '100M'],
                           'Parameter counts (K, M, B suffixes).')
_WITH_1B = flags.DEFINE_bool('with_1b', False, 'Also run 1 B parameters.')
_METHODS = flags.DEFINE_list(
    'methods', ['radix_jit', 'bitwise_jit', 'prune_global', 'naive'],
    'Methods to run (see the module docstring).')
_LEAVES = flags.DEFINE_integer('leaves', 12, 'Prunable leaves in the tree.')
_RATE = flags.DEFINE_float('rate', 0.2, 'Pruning rate (level 1).')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Warm calls (best is kept).')
_NAIVE_MAX_SECONDS = flags.DEFINE_float(
    'naive_max_seconds', 240, 'Skip naive where extrapolation exceeds this.')
_TIMEOUT = flags.DEFINE_integer('timeout', 900, 'Per-case limit in seconds.')
_OUT = flags.DEFINE_string('out', '', 'Write the table to this CSV file.')
_WORKER = flags.DEFINE_string('worker', '',
                              'Internal: "method,method,...:params".')

_MEMORY_FIELDS = ('VmRSS', 'VmHWM')


def parse_size(text: str) -> int:
  """``'20M'`` -> 20_000_000."""
  scale = {'K': 10**3, 'M': 10**6, 'B': 10**9, 'G': 10**9}
  text = text.strip().upper()
  if text[-1] in scale:
    return int(float(text[:-1]) * scale[text[-1]])
  return int(text)


def leaf_shapes(total: int, leaves: int) -> list[tuple[int, int]]:
  """Kernel shapes ``(rows, 1024)`` of mixed sizes adding up to ~total."""
  weights = [(4, 1, 3, 2)[i % 4] for i in range(leaves)]
  cols = 1024 if total >= 10**6 else 64
  return [(max(1, round(total * w / sum(weights) / cols)), cols)
          for w in weights]


def make_tree(total: int, leaves: int):
  """Params ``{'layer_i': {'kernel', 'bias'}}`` and all-ones masks."""
  normal = jax.jit(jax.random.normal, static_argnums=1)
  params = {}
  for i, shape in enumerate(leaf_shapes(total, leaves)):
    params[f'layer_{i:02d}'] = {
        'kernel': normal(jax.random.key(i), shape),
        'bias': jnp.zeros(shape[1:], jnp.float32)}
  jax.block_until_ready(params)
  return params


def ones_masks(params):
  return jax.block_until_ready(pruning.ones_like(params))


def lean_prune_global(params, masks, rate: float, level: int,
                      method: str = 'radix'):
  """Global magnitude pruning with no copy of ``|w|``."""
  m_leaves, treedef = jax.tree.flatten(masks, is_leaf=lambda x: x is None)
  p_leaves = treedef.flatten_up_to(params)
  idx = [i for i, m in enumerate(m_leaves) if m is not None]
  size = sum(m_leaves[i].size for i in idx)
  # Counts are exact against the dense size; the selection clips k to the
  # unmasked count, so no separate count of the masks is needed.
  k = round((1.0 - rate) ** level * size)
  kept = selection.keep_top_k_global([p_leaves[i] for i in idx],
                                     [m_leaves[i] for i in idx], k,
                                     absolute=True, method=method)
  for i, new in zip(idx, kept):
    m_leaves[i] = new
  return jax.tree.unflatten(treedef, m_leaves)


def naive_prune_global(params, masks, rate: float, level: int):
  """Baseline: concatenate, sort, threshold; ties split by position."""
  m_leaves, treedef = jax.tree.flatten(masks, is_leaf=lambda x: x is None)
  p_leaves = treedef.flatten_up_to(params)
  idx = [i for i, m in enumerate(m_leaves) if m is not None]
  flat_m = jnp.concatenate([m_leaves[i].ravel() for i in idx])
  flat_s = jnp.where(flat_m, jnp.concatenate(
      [jnp.abs(p_leaves[i]).ravel() for i in idx]), -1.0)
  k = jnp.minimum(jnp.sum(flat_m, dtype=jnp.int32),
                  round((1.0 - rate) ** level * flat_m.size))
  ordered = jnp.sort(flat_s)
  threshold = ordered[jnp.clip(flat_s.size - k, 0, flat_s.size - 1)]
  above = flat_m & (flat_s > threshold)
  tie = flat_m & (flat_s == threshold)
  need = k - jnp.sum(above, dtype=jnp.int32)
  keep = (above | (tie & (jnp.cumsum(tie, dtype=jnp.int32) <= need))) & (
      k > 0)
  start = 0
  for i in idx:
    size = m_leaves[i].size
    m_leaves[i] = keep[start:start + size].reshape(m_leaves[i].shape)
    start += size
  return jax.tree.unflatten(treedef, m_leaves)


def memory_kb() -> dict[str, int]:
  out = {}
  with open('/proc/self/status') as f:
    for line in f:
      name, _, value = line.partition(':')
      if name in _MEMORY_FIELDS:
        out[name] = int(value.split()[0])
  return out


def reset_peak() -> None:
  """Frees what malloc holds and resets VmHWM to the current RSS."""
  try:
    ctypes.CDLL('libc.so.6').malloc_trim(0)
  except OSError:
    pass
  with open('/proc/self/clear_refs', 'w') as f:
    f.write('5')


def fingerprint(masks) -> str:
  digest = hashlib.sha1()
  for m in jax.tree.leaves(masks):
    digest.update(np.packbits(np.asarray(m)).tobytes())
  return digest.hexdigest()[:12]


def measured_call(fn, *args):
  """(seconds, CPU seconds of all threads, extra peak bytes, result)."""
  reset_peak()
  before = memory_kb()['VmRSS']
  cpu, tic = time.process_time(), time.perf_counter()
  out = jax.block_until_ready(fn(*args))
  seconds = time.perf_counter() - tic
  cpu = time.process_time() - cpu
  return seconds, cpu, (memory_kb()['VmHWM'] - before) * 1024, out


def method_fn(method: str):
  """(the function of ``method``, whether it is AOT-compiled, donated)."""
  rate = _RATE.value
  lean = functools.partial(lean_prune_global, rate=rate, level=1)
  if method == 'prune_global':
    return functools.partial(pruning.prune_global, rate=rate, level=1), False
  if method in ('radix_eager', 'bitwise_eager'):
    return functools.partial(lean, method=method.split('_')[0]), False
  if method in ('radix_jit', 'bitwise_jit'):
    return jax.jit(functools.partial(lean, method=method.split('_')[0]),
                   donate_argnums=1), True
  if method == 'naive':
    return jax.jit(functools.partial(naive_prune_global, rate=rate, level=1),
                   donate_argnums=1), True
  raise ValueError(f'unknown method {method!r}; known: {", ".join(METHODS)}.')


METHODS = ('radix_jit', 'bitwise_jit', 'prune_global', 'radix_eager',
           'bitwise_eager', 'naive')


def load() -> str:
  return '/'.join(f'{x:.1f}' for x in os.getloadavg())


def time_method(method: str, params, param_bytes: int) -> dict[str, object]:
  """One method's row, on params already built in this process."""
  fn, donated = method_fn(method)
  row = {'params': sum(p['kernel'].size for p in params.values()),
         'method': method}
  if method == 'naive':
    tic = time.perf_counter()
    fn = fn.lower(params, ones_masks(params)).compile()
    row['compile_s'] = time.perf_counter() - tic
    repeats = 1
  else:
    tic = time.perf_counter()
    jax.block_until_ready(fn(params, ones_masks(params)))
    first_call = time.perf_counter() - tic
    repeats = _REPEATS.value
  times = []
  for _ in range(repeats):
    masks = ones_masks(params)
    seconds, cpu, extra, out = measured_call(fn, params, masks)
    del masks
    times.append({'s': round(seconds, 3), 'cpu': round(cpu, 3),
                  'extra': extra, 'load': load()})
    print(f'# {method} {row["params"]:,}: {seconds:.3f} s ({cpu:.3f} s CPU), '
          f'load {load()}', file=sys.stderr, flush=True)
    new_bytes = sum(x.nbytes for x in jax.tree.leaves(out))
    row['masks'] = fingerprint(out)
    row['kept'] = int(sum(int(x.sum()) for x in jax.tree.leaves(out)))
    del out
  best = min(times, key=lambda t: t['s'])
  row['time_s'], row['cpu_s'], row['load'] = best['s'], best['cpu'], best[
      'load']
  row['times'] = ' '.join(f'{t["s"]:.2f}@{t["load"]}' for t in times)
  if method != 'naive':  # Compile: the first call less a warm one.
    row['compile_s'] = max(0.0, first_call - row['time_s'])
  extra = max(t['extra'] for t in times)
  row['extra_pct'] = 100.0 * extra / param_bytes
  # Scratch: the extra peak less the new masks (none when donated).
  row['scratch_pct'] = 100.0 * (extra - (0 if donated else new_bytes)) / (
      param_bytes)
  row['param_gb'] = param_bytes / 1e9
  row['maxrss_gb'] = resource.getrusage(
      resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
  return row


def run_worker(methods: list[str], total: int) -> list[dict[str, object]]:
  """``methods`` one after the other on one tree, in this (fresh) process."""
  params = make_tree(total, _LEAVES.value)
  param_bytes = sum(x.nbytes for x in jax.tree.leaves(params))
  return [time_method(m, params, param_bytes) for m in methods]


@dataclasses.dataclass
class Case:
  methods: list[str]
  size: int


def run_case(case: Case) -> list[dict[str, object]]:
  cmd = [sys.executable, '-m', 'benchmarks.pruning_speed',
         f'--worker={",".join(case.methods)}:{case.size}',
         f'--leaves={_LEAVES.value}', f'--rate={_RATE.value}',
         f'--repeats={_REPEATS.value}']
  failed = lambda note: [{'params': case.size, 'method': m, 'note': note}
                         for m in case.methods]
  try:
    result = subprocess.run(cmd, capture_output=True, text=True,
                            timeout=_TIMEOUT.value, check=False)
  except subprocess.TimeoutExpired:
    return failed(f'timed out after {_TIMEOUT.value} s')
  sys.stderr.write(''.join(line + '\n' for line in
                           result.stderr.splitlines() if line[:1] == '#'))
  rows = [json.loads(line) for line in result.stdout.splitlines()
          if line.startswith('{')]
  return rows or failed('failed: ' + result.stderr.strip()[-300:])


def available_bytes() -> int:
  with open('/proc/meminfo') as f:
    for line in f:
      if line.startswith('MemAvailable:'):
        return int(line.split()[1]) * 1024
  return 0


def naive_skip_reason(size: int, rows: list[dict[str, object]]) -> str:
  """Why naive would not fit at ``size``, extrapolated from measured rows."""
  done = [r for r in rows if r['method'] == 'naive' and 'time_s' in r]
  if not done:
    return ''
  last = max(done, key=lambda r: r['params'])
  scale = size / last['params']
  need = 4 * size * (1 + 0.25 + last['extra_pct'] / 100)  # params, masks.
  seconds = last['time_s'] * scale * max(1.0, 1.1 * (scale ** 0.1))
  if need > 0.9 * available_bytes() or seconds > _NAIVE_MAX_SECONDS.value:
    return (f'skipped: would need ~{need / 1e9:.0f} GB and ~{seconds:.0f} s '
            f'(extrapolated from {last["params"] / 1e6:.0f} M)')
  return ''


def size_text(n: int) -> str:
  return f'{n / 1e6:,.0f} M' if n >= 10**6 else f'{n / 1e3:,.0f} K'


def markdown(rows: list[dict[str, object]]) -> str:
  header = ('| params | method | time (s) | CPU (s) | vs bitwise | '
            'vs naive | compile (s) | extra peak / params | '
            'scratch / params | identical | load (1/5/15 min) |')
  lines = [header, '|' + '---|' * 11]
  for r in rows:
    if 'time_s' not in r:
      lines.append(f'| {size_text(r["params"])} | {r["method"]} | '
                   f'{r.get("note", "")} |' + ' |' * 8)
      continue
    lines.append(
        f'| {size_text(r["params"])} | {r["method"]} | {r["time_s"]:.2f} | '
        f'{r["cpu_s"]:.2f} | {r.get("vs_bitwise", "")} | '
        f'{r.get("speedup", "")} | '
        f'{r["compile_s"]:.2f} | {r["extra_pct"]:.2f} % | '
        f'{r["scratch_pct"]:.2f} % | {r.get("identical", "")} | '
        f'{r["load"]} |')
  return '\n'.join(lines)


def compare(group: list[dict[str, object]]) -> None:
  """Adds ratios and mask checks to one size's rows, in place."""
  find = lambda name: next((r for r in group if r['method'] == name
                            and 'time_s' in r), None)
  bitwise, naive = find('bitwise_jit'), find('naive')
  references = [r for r in (bitwise, naive) if r is not None]
  for r in group:
    if 'time_s' not in r:
      continue
    checks = [f'{ref["method"]}: ' + ('yes' if r['masks'] == ref['masks']
                                      else 'NO')
              for ref in references if ref is not r]
    r['identical'] = ', '.join(checks)
    if bitwise is not None:
      r['vs_bitwise'] = f'{bitwise["time_s"] / r["time_s"]:.1f}x'
    if naive is not None:
      r['speedup'] = f'{naive["time_s"] / r["time_s"]:.1f}x'


def main(argv):
  del argv
  if _WORKER.value:
    methods, _, size = _WORKER.value.rpartition(':')
    for row in run_worker(methods.split(','), int(size)):
      print(json.dumps(row), flush=True)
    return
  unknown = sorted(set(_METHODS.value) - set(METHODS))
  if unknown:
    raise app.UsageError(f'unknown methods {unknown}; known: {METHODS}.')
  sizes = [parse_size(s) for s in _SIZES.value]
  if _WITH_1B.value:
    sizes.append(10**9)
  rows = []
  for size in sizes:
    together = [m for m in _METHODS.value if m != 'naive']
    group = run_case(Case(together, size)) if together else []
    if 'naive' in _METHODS.value:
      reason = naive_skip_reason(size, rows)
      group += ([{'params': size, 'method': 'naive', 'note': reason}]
                if reason else run_case(Case(['naive'], size)))
    compare(group)
    for row in group:
      print(json.dumps(row), file=sys.stderr, flush=True)
    rows.extend(group)
  table = markdown(rows)
  print(table)
  print(provenance.note(None))
  if _OUT.value:
    fields = ['params', 'method', 'time_s', 'cpu_s', 'vs_bitwise', 'speedup',
              'compile_s', 'extra_pct', 'scratch_pct', 'identical', 'kept',
              'masks', 'load', 'times', 'param_gb', 'maxrss_gb', 'note']
    with open(_OUT.value, 'w', newline='') as f:
      writer = csv.DictWriter(f, fields, extrasaction='ignore')
      writer.writeheader()
      writer.writerows(rows)


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  app.run(main)
