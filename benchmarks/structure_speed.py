r"""Speed of the structure analysis against a plain networkx reading.

  python -m benchmarks.structure_speed --densities=0.01,0.05,0.2

The mask is a 1568-784-784-20 MLP's (the thesis's MNIST + Fashion-MNIST
net, tasks as in ``data.two_task.mnist_fashion_tasks``: left and right
half of each 28x56 row, outputs 0-9 and 10-19). Per density two masks:
``random`` (every weight kept with that probability) and ``blocks`` (the
same density inside the two task blocks only, none across them, the output
layer at 50 % inside its blocks: separated nets, unless a hidden layer
loses every path of a task). ``lth_jax`` is
``structure.analyse`` plus ``weight_classes`` (every weight's class), best
of ``--repeats`` warm calls; ``networkx`` is
``structure_nx.reference_reading`` (the thesis's procedure on a DiGraph,
graph building included), one call. ``identical``: neuron classes, weight
classes, components, coverage and state all equal.
"""
import time

from absl import app
from absl import flags
import numpy as np

from lth_jax import provenance
from lth_jax.analysis import structure
from lth_jax.analysis import structure_nx
from lth_jax.data import two_task

_DENSITIES = flags.DEFINE_list('densities', ['0.01', '0.05', '0.2'],
                               'Kept fraction of the weights.')
_SHAPE = flags.DEFINE_list('shape', ['1568', '784', '784', '20'],
                           'Layer widths, inputs first.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Warm calls of lth_jax.')
_SEED = flags.DEFINE_integer('seed', 0, 'Mask seed.')


def random_masks(shape, density, rng):
  return [rng.random((a, b)) < density for a, b in zip(shape, shape[1:])]


def block_masks(shape, density, rng):
  """Each task's half of every layer connected at ``density`` (the output
  layer at 0.5), no weight across the halves (inputs split as the
  tasks')."""
  tasks = two_task.mnist_fashion_tasks(two_task.MnistFashionOptions())
  halves = [np.zeros(shape[0], int)]
  halves[0][tasks[1][1]] = 1
  for n in shape[1:]:
    halves.append((np.arange(n) >= n // 2).astype(int))
  out = []
  for l, (a, b) in enumerate(zip(halves, halves[1:])):
    same = a[:, None] == b[None, :]
    inside = 0.5 if l == len(shape) - 2 else density
    out.append(same & (rng.random(same.shape) < inside))
  return out


def time_lth(masks, tasks, repeats):
  best = float('inf')
  for _ in range(repeats + 1):  # the first call warms caches
    tic = time.perf_counter()
    s = structure.analyse(masks, tasks, coverage='outputs')
    structure.weight_classes(masks, s)
    best = min(best, time.perf_counter() - tic)
  return s, best


def main(argv):
  del argv
  shape = [int(s) for s in _SHAPE.value]
  if shape[0] != 1568 or shape[-1] != 20:
    raise app.UsageError('--shape must start at 1568 inputs and end at 20 '
                         'outputs (the MNIST + Fashion-MNIST tasks).')
  tasks = two_task.mnist_fashion_tasks(two_task.MnistFashionOptions())
  rng = np.random.default_rng(_SEED.value)
  print('| mask | density | kept weights | active | components | state | '
        'lth_jax s | networkx s | speed-up | identical |')
  print('|---|---|---|---|---|---|---|---|---|---|')
  worst = []
  for density in (float(d) for d in _DENSITIES.value):
    for kind, make in (('random', random_masks), ('blocks', block_masks)):
      masks = make(shape, density, rng)
      s, ours = time_lth(masks, tasks, _REPEATS.value)
      tic = time.perf_counter()
      ref = structure_nx.reference_reading(masks, tasks, coverage='outputs')
      theirs = time.perf_counter() - tic
      same = structure_nx.agreement(masks, s, ref)
      worst.append((ours, theirs / ours, all(same.values())))
      print(f'| {kind} | {density:g} | {int(s.kept_weights.sum()):,} | '
            f'{int(s.active_weights.sum()):,} | {s.num_components} | '
            f'{s.state} | {ours:.3f} | {theirs:.2f} | {theirs / ours:.0f}x | '
            f'{"yes" if all(same.values()) else same} |', flush=True)
  print(f'\nslowest lth_jax call {max(w[0] for w in worst):.3f} s, smallest '
        f'speed-up {min(w[1] for w in worst):.0f}x, all identical: '
        f'{all(w[2] for w in worst)}')
  print(provenance.note(None))


if __name__ == '__main__':
  app.run(main)
