r"""A small real IMP run for the fault suite, meant to be killed and resumed.

  python tests/faults/run_imp.py WORKDIR [--kill-at=EVENT] [--rewind=step]
      [--nan-data]

LeNet-300-100, 3 levels of 200 steps, a checkpoint and an evaluation every
50 steps, on a fixed subset of the real MNIST (``$LTH_DATA_DIR`` or
``../shared/data``) or, where that is absent, on a generated data set.

``--kill-at=EVENT`` makes the process SIGKILL itself at an exact point, to
reach the windows that a kill at a random time rarely hits. ``EVENT`` is
``KIND:GLOB``, ``GLOB`` matching a path relative to the run directory:

* ``save:GLOB``: before a tree (orbax) at GLOB is written;
* ``commit:GLOB``: after orbax wrote the tree's temporary directory, before it
  is renamed into place (leaves ``*.orbax-checkpoint-tmp``);
* ``saved:GLOB``: after the tree is complete;
* ``wrote:GLOB``: after a JSON file at GLOB is written;
* ``locked``: right after the run lock is taken.

``--nan-data`` puts a NaN pixel into every training image.
"""
import argparse
import fnmatch
import os
import pathlib
import signal
import sys

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'configs'))

STEPS, EVERY, LEVELS = 200, 50, 2
TRAIN, TEST, VALIDATION = 2000, 500, 500


def _dataset(nan: bool = False):
  """A fixed MNIST subset if the real files are here, else generated data."""
  from lth_jax import data  # pylint: disable=import-outside-toplevel
  from lth_jax.data import mnist  # pylint: disable=import-outside-toplevel
  root = pathlib.Path(os.environ.get('LTH_DATA_DIR',
                                     REPO.parent / 'shared' / 'data'))
  if (root / 'mnist').is_dir():
    train_x, train_y, test_x, test_y = mnist.read_raw('mnist', root)
    train_x, train_y = train_x[:TRAIN], train_y[:TRAIN]
    test_x, test_y = test_x[:TEST], test_y[:TEST]
  else:
    rng = np.random.default_rng(0)
    centers = rng.integers(0, 256, (10, 28, 28))
    train_y, test_y = rng.integers(0, 10, TRAIN), rng.integers(0, 10, TEST)
    noise = rng.integers(-60, 60, (TRAIN + TEST, 28, 28))
    images = np.clip(centers[np.concatenate([train_y, test_y])] + noise, 0,
                     255).astype(np.uint8)
    train_x, test_x = images[:TRAIN], images[TRAIN:]
  train_x = mnist.normalize(train_x)
  if nan:
    train_x[:, 0, 0, 0] = np.nan
  return data.dataset.hold_out(
      'mnist', 10, train_x, train_y.astype(np.int32),
      mnist.normalize(test_x), test_y.astype(np.int32), VALIDATION)


def config(rewind: str = 'init'):
  """The run's config (also used by the tests to find its run directory)."""
  import lenet300_mnist  # pylint: disable=import-outside-toplevel
  c = lenet300_mnist.get_config(f'preset=cpu,levels={LEVELS}')
  c.unlock()
  c.training.steps = f'{STEPS}it'
  c.training.eval_every = f'{EVERY}it'
  c.training.eval_batch_size = 500
  c.checkpoint_every = f'{EVERY}it'
  c.progress = False
  if rewind == 'step':
    c.pruning.rewind = 'step'
    c.pruning.rewind_step = f'{EVERY + EVERY // 2}it'
  c.lock()
  return c


def _die() -> None:
  sys.stdout.flush()
  sys.stderr.flush()
  os.kill(os.getpid(), signal.SIGKILL)


def install_kill(event: str, run_dir: pathlib.Path) -> None:
  """Patches the library so that the process SIGKILLs itself at ``event``."""
  # pylint: disable=import-outside-toplevel
  from orbax.checkpoint._src.path import atomicity
  from lth_jax import files
  from lth_jax.runs import lock as run_lock
  from lth_jax.runs import storage
  kind, _, pattern = event.partition(':')

  def hit(path) -> bool:
    try:
      rel = pathlib.Path(path).absolute().relative_to(run_dir.absolute())
    except ValueError:
      return False
    return fnmatch.fnmatch(str(rel), pattern)

  if kind in ('save', 'saved'):
    real_save = storage.save_tree

    def save_tree(path, tree):
      if kind == 'save' and hit(path):
        _die()
      real_save(path, tree)
      if kind == 'saved' and hit(path):
        _die()
    # The layout (storage) and the engine's checkpoints (files) both save.
    storage.save_tree = files.save_tree = save_tree
  elif kind == 'commit':
    real_finalize = atomicity.AtomicRenameTemporaryPath.finalize

    async def finalize(self, *args, **kwargs):
      final = pathlib.Path(str(self.get_final()))
      # The library saves under a staging name ('.<name>.new') first.
      target = final.with_name(final.name.lstrip('.').rsplit('.new', 1)[0])
      if hit(target):
        _die()
      return await real_finalize(self, *args, **kwargs)
    atomicity.AtomicRenameTemporaryPath.finalize = finalize
  elif kind == 'wrote':
    real_write = files.write_text_atomic

    def write_text_atomic(path, text):
      real_write(path, text)
      if hit(path):
        _die()
    # Every JSON writer (write_json, write_jsonl) calls files' own.
    storage.write_text_atomic = files.write_text_atomic = write_text_atomic
  elif kind == 'locked':
    real_enter = run_lock.RunLock.__enter__

    def enter(self):
      out = real_enter(self)
      _die()
      return out
    run_lock.RunLock.__enter__ = enter
  else:
    raise ValueError(f'unknown kill event {event!r}')


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('workdir')
  parser.add_argument('--kill-at', default='')
  parser.add_argument('--rewind', default='init', choices=('init', 'step'))
  parser.add_argument('--nan-data', action='store_true')
  args = parser.parse_args(argv)
  from lth_jax import lottery  # pylint: disable=import-outside-toplevel
  c = config(args.rewind)
  if args.kill_at:
    install_kill(args.kill_at,
                 pathlib.Path(args.workdir) / lottery.run_hash(c))
  lottery.run(c, args.workdir, dataset=_dataset(args.nan_data))
  print('finished')


if __name__ == '__main__':
  main()
