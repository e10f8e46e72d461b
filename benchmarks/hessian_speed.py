r"""Top Hessian eigenvalues of LeNet-300-100 on all of MNIST's training set.

  export LTH_DATA_DIR=../shared/data
  python -m benchmarks.hessian_speed \
      --run_dir=results/landscape_trunks/<run-hash>

Lanczos over Hessian-vector products (``lth_jax.landscape``; PyHessian's
approach, Yao et al. 2020): ``--iterations`` steps with full
reorthogonalisation, each one ``jax.jvp`` of ``jax.grad`` summed over the
training set in batches of ``--batch_size``. Memory is the Lanczos basis,
``(iterations + 1) x n`` floats, never ``n x n`` (266,610 params: 1.1 MB per
vector; a dense Hessian would be 284 GB). Prints:

* the top-5 eigenvalues of one network, wall time warm (compiled) and
  cold, against ``scipy.sparse.linalg.eigsh`` on the same products (its
  time and number of products);
* ``--replicates`` networks at once (``vmap`` over params and keys);
* on a small MLP (``--small_width`` hidden units, random data), the
  explicit Hessian (``jax.hessian`` + ``eigvalsh``) against Lanczos, both
  timed in this process, and their largest eigenvalues.

``--run_dir``: a LeNet-300-100 / MNIST trunk (its replicates' level-0
trained weights are used); without it, fresh initialisations.
"""
import resource
import time

from absl import app
from absl import flags
from absl import logging
import jax
from jax import flatten_util
import jax.numpy as jnp
import numpy as np

from lth_jax import data
from lth_jax import files
from lth_jax import landscape
from lth_jax import models
from lth_jax import provenance
from lth_jax import pruning
from lth_jax.lottery import config as lottery_config
from lth_jax.runs import layout
from lth_jax.training import losses

_RUN_DIR = flags.DEFINE_string('run_dir', '', 'A LeNet trunk run directory.')
_ITERATIONS = flags.DEFINE_integer('iterations', 20, 'Lanczos steps.')
_BATCH = flags.DEFINE_integer('batch_size', 5000, 'HVP batch size.')
_REPLICATES = flags.DEFINE_integer('replicates', 3, 'Networks vmapped.')
_SMALL = flags.DEFINE_integer('small_width', 24, 'Small MLP hidden width.')


def lenet_loss(model):
  def loss(params, batch):
    logits = model.apply({'params': params}, batch[0], train=False)
    return losses.per_example(logits, batch[1], losses.Task())[0].mean()
  return loss


def timed(fn, *args):
  tic = time.perf_counter()
  out = jax.block_until_ready(fn(*args))
  return out, time.perf_counter() - tic


def lenet_params(model, x, replicates):
  """Trained level-0 weights of a trunk, or fresh initialisations."""
  out = []
  for r in range(replicates):
    init = model.init(jax.random.key(r), x[:1], train=False)['params']
    if _RUN_DIR.value:
      like = {'params': init, 'batch_stats': {}}
      job = layout.RunLayout(_RUN_DIR.value).job(r, 0)
      init = files.load_tree(job.trained, like)['params']
    out.append(jax.tree.map(jnp.asarray, init))
  return out


def lenet_part():
  cfg = lottery_config.default_config().data
  cfg.validation_size = 0   # all 60,000 training images
  ds = data.get_dataset(cfg)
  x, y = jnp.asarray(ds.train_images), jnp.asarray(ds.train_labels)
  batches = landscape.split_batches((x, y), _BATCH.value)
  model = models.get_model('lenet300_100', num_classes=10)
  loss = lenet_loss(model)
  params = lenet_params(model, x, _REPLICATES.value)
  masks = pruning.ones_like(params[0])
  n = sum(p.size for p in jax.tree.leaves(params[0]))
  m = _ITERATIONS.value
  print(f'LeNet-300-100: {n} params, {x.shape[0]} training examples in '
        f'{batches[0].shape[0]} batches of {_BATCH.value}; {m} Lanczos '
        f'steps; basis {(m + 1) * n * 4 / 2**20:.0f} MiB (dense Hessian: '
        f'{n * n * 4 / 2**30:.0f} GiB)')
  top = jax.jit(lambda p, k: landscape.top_eigenvalues(
      loss, p, masks, batches, k, 5, m))
  key = jax.random.key(0)
  _, cold = timed(top, params[0], key)
  vals, warm = timed(top, params[0], key)
  print(f'  lanczos top-5 {np.round(np.asarray(vals), 4).tolist()}: '
        f'{warm:.1f} s warm, {cold:.1f} s with compilation')
  tic = time.perf_counter()
  ref = landscape.eigsh_top_eigenvalues(loss, params[0], masks, batches, k=5,
                                        tol=1e-4)
  print(f'  eigsh top-5 {np.round(ref.values, 4).tolist()}: '
        f'{time.perf_counter() - tic:.1f} s, {ref.num_products} products; '
        f'max relative difference to lanczos '
        f'{np.max(np.abs(np.asarray(vals) - ref.values) / ref.values):.1e}')
  stacked = jax.tree.map(lambda *a: jnp.stack(a), *params)
  keys = jax.random.split(key, len(params))
  many = jax.jit(jax.vmap(lambda p, k: landscape.top_eigenvalues(
      loss, p, masks, batches, k, 5, m)))
  _, cold = timed(many, stacked, keys)
  vals, warm = timed(many, stacked, keys)
  print(f'  vmapped over {len(params)} networks: {warm:.1f} s warm '
        f'({warm / len(params):.1f} s per network), top eigenvalue '
        f'{np.round(np.asarray(vals)[:, 0], 3).tolist()}')


def small_part():
  rng = np.random.default_rng(0)
  w = _SMALL.value
  x = jnp.asarray(rng.normal(size=(2048, 32)), jnp.float32)
  y = jnp.asarray(rng.integers(0, 10, 2048))
  params = {'h': {'kernel': jnp.asarray(rng.normal(size=(32, w)) / 6,
                                        jnp.float32), 'bias': jnp.zeros(w)},
            'o': {'kernel': jnp.asarray(rng.normal(size=(w, 10)) / 5,
                                        jnp.float32),
                  'bias': jnp.zeros(10)}}

  def loss(p, b):
    h = jnp.tanh(b[0] @ p['h']['kernel'] + p['h']['bias'])
    logits = h @ p['o']['kernel'] + p['o']['bias']
    return losses.per_example(logits, b[1], losses.Task())[0].mean()

  masks = jax.tree.map(lambda _: None, params)
  batches = landscape.split_batches((x, y), 512)
  flat, unravel = flatten_util.ravel_pytree(params)
  n = flat.size
  explicit = jax.jit(lambda v: jnp.linalg.eigvalsh(jax.hessian(
      lambda u: landscape.dataset_loss(loss, unravel(u), masks, batches))(v)))
  top = jax.jit(lambda p: landscape.top_eigenvalues(
      loss, p, masks, batches, jax.random.key(0), 5, _ITERATIONS.value))
  timed(explicit, flat)
  timed(top, params)
  full, t_full = timed(explicit, flat)
  lz, t_lz = timed(top, params)
  print(f'small MLP 32-{w}-10 ({n} params, 2048 examples): explicit '
        f'Hessian + eigvalsh {t_full:.2f} s, lanczos top-5 {t_lz:.2f} s '
        f'(ratio {t_full / t_lz:.1f}x); top-5 explicit '
        f'{np.round(np.asarray(full)[::-1][:5], 4).tolist()}, lanczos '
        f'{np.round(np.asarray(lz), 4).tolist()}')


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every read at INFO
  print(f'jax {jax.__version__} on {jax.devices()[0].platform}, '
        f'{jax.device_count()} device(s)')
  with open('/proc/loadavg') as f:
    print(f'load average at start: {f.read().split()[:3]}')
  small_part()
  lenet_part()
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
  print(f'peak resident memory of this process: {peak:.0f} MiB')
  with open('/proc/loadavg') as f:
    print(f'load average at end: {f.read().split()[:3]}')
  print(provenance.note(None))


if __name__ == '__main__':
  app.run(main)
