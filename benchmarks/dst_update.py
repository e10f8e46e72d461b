r"""Overhead of SET/RigL mask updates over a plain masked training step.

LeNet-300-100 on MNIST-shaped random data, batch 60, Adam, density 10 %
(ERK), in one process: ``--steps`` steps (a multiple of ``ΔT`` = 100) of

* ``masked``: the engine's masked ``train_step`` (fixed masks);
* ``set`` / ``rigl``: the same step with masks inside
  ``sparse_optax.wrap_optax`` (updates every 100 steps, so one in every 100
  steps drops and regrows, the others pay a ``lax.cond`` and the masking
  of the update).

Each runs as ``lax.scan`` chunks of 100 steps (one update per chunk);
times are the best of ``--repeats``, and the overhead is
``time(method) / time(masked) - 1``, averaged over ``ΔT`` steps. On a
shared machine these whole-loop ratios are noisy, so the update alone (the
jitted ``dst.update_masks`` on LeNet's weights and a gradient, best of
``--repeats`` x 10 calls) is timed too and reported as a fraction of 100
masked steps.

  python -m benchmarks.dst_update --steps=1000 --repeats=5

Target: overhead < 5 %.
"""
import functools
import time

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
import numpy as np
import optax

from lth_jax import models
from lth_jax.pruning import distributions
from lth_jax.pruning import dst
from lth_jax.pruning import masks as masks_lib
from lth_jax.pruning import sparse_optax
from lth_jax.training import state as state_lib
from lth_jax.training import steps as steps_lib

_STEPS = flags.DEFINE_integer('steps', 1000, 'Steps per measurement.')
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Best of this many runs.')
_SELECT = flags.DEFINE_string('select', 'radix', 'radix or bitwise.')
UPDATE_EVERY = 100
BATCH = 60


@jax.jit
def _chunk(state, images, labels):
  """``UPDATE_EVERY`` steps on fixed batches (data order is not measured)."""
  def body(s, i):
    s, loss = steps_lib.train_step(s, images[i], labels[i])
    return s, loss
  return jax.lax.scan(body, state, jnp.arange(UPDATE_EVERY))


def _time(state, images, labels, steps):
  state, _ = _chunk(state, images, labels)  # compile and warm up
  jax.block_until_ready(state)
  tic = time.perf_counter()
  for _ in range(steps // UPDATE_EVERY):
    state, loss = _chunk(state, images, labels)
  jax.block_until_ready(loss)
  return time.perf_counter() - tic


def main(argv):
  del argv
  model = models.get_model('lenet300_100', num_classes=10)
  rng = np.random.default_rng(0)
  images = jnp.asarray(rng.normal(size=(UPDATE_EVERY, BATCH, 28, 28, 1)),
                       jnp.float32)
  labels = jnp.asarray(rng.integers(0, 10, (UPDATE_EVERY, BATCH)))
  params = model.init(jax.random.key(0), images[0])['params']
  masks = distributions.random_masks(jax.random.key(1),
                                     masks_lib.ones_like(params), 0.1)
  inner = optax.adam(1.2e-3)
  total = _STEPS.value
  key = jax.random.key(2)

  def fresh(method):
    if method == 'masked':
      return state_lib.create_train_state(model, params, masks, inner, key)
    # Updates from step 0 on: 'stop_fraction' past the measured steps.
    tx = sparse_optax.wrap_optax(
        inner, method, masks=masks, total_steps=10 * total,
        update_every=UPDATE_EVERY, stop_fraction=1.0, select=_SELECT.value)
    return state_lib.create_train_state(model, params, None, tx, key)

  best = {}
  for _ in range(_REPEATS.value):
    for method in ('masked', 'set', 'rigl'):
      t = _time(fresh(method), images, labels, total)
      best[method] = min(best.get(method, np.inf), t)
  grads = jax.tree.map(lambda p: jnp.asarray(
      rng.normal(size=p.shape), jnp.float32), params)
  for method in ('set', 'rigl'):
    update = jax.jit(functools.partial(
        dst.update_masks, method, fraction=0.3, select=_SELECT.value))
    jax.block_until_ready(update(params, masks, grads, key))
    times = []
    for _ in range(10 * _REPEATS.value):
      tic = time.perf_counter()
      jax.block_until_ready(update(params, masks, grads, key))
      times.append(time.perf_counter() - tic)
    best[f'{method}_update'] = min(times)
  base = best['masked']
  print(f'device: {jax.devices()[0].device_kind}, steps: {total}, '
        f'best of {_REPEATS.value}')
  for method in ('masked', 'set', 'rigl'):
    t = best[method]
    print(f'{method:7s} {1e3 * t / total:.3f} ms/step  whole-loop overhead '
          f'{100 * (t / base - 1):+.1f} %')
  for method in ('set', 'rigl'):
    t = best[f'{method}_update']
    print(f'{method} update alone: {1e3 * t:.2f} ms = '
          f'{100 * t / (UPDATE_EVERY * base / total):.1f} % of '
          f'{UPDATE_EVERY} masked steps')


if __name__ == '__main__':
  app.run(main)
