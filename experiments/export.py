r"""Exports one level of a lottery run: ticket, slim MLP, PyTorch, open_lth.

  python -m experiments.export --run_dir=results/lth_lenet/<hash> \
      --level=15 --format=torch
  python -m experiments.export --run_dir=... --level=0,3,7,12,15 --format=slim

Formats (``lth_jax.export.formats``): ``ticket`` (compact checksummed
file), ``slim`` (the slimmed dense MLP as a ticket), ``torch`` (safetensors
in ``torch.nn.utils.prune`` names; ``--layout=plain`` for a pruned state
dict), ``open_lth`` (a directory with ``model_<step>.pth`` and
``mask.pth``), ``nm24`` (2:4 values + metadata). ``--out`` defaults to
``<run_dir>/export/level_<L>`` plus the format's suffix. Prints one line:
sizes, kept weights, units slimming removes, sha256 (one line per level);
then where its provenance went (beside the files) and the marker.
"""
import pathlib

from absl import flags

from experiments import cli
from lth_jax import errors
from lth_jax import provenance
from lth_jax.export import formats
from lth_jax.runs import layout
from lth_jax.runs import storage

_RUN_DIR = flags.DEFINE_string('run_dir', None, 'workdir/<run-hash>.',
                               required=True)
_LEVEL = flags.DEFINE_list('level', None, 'Level(s) to export: one line '
                           'each.', required=True)
_FORMAT = flags.DEFINE_enum('format', 'ticket', formats.FORMATS, 'Format.')
_OUT = flags.DEFINE_string('out', None, 'Output file (directory for '
                           'open_lth).')
_REPLICATE = flags.DEFINE_integer('replicate', 0, 'Replicate.')
_WEIGHTS = flags.DEFINE_enum('weights', 'trained', ['trained', 'init'],
                             "The level's trained weights or the init.")
_LAYOUT = flags.DEFINE_enum('layout', 'prune', ['prune', 'plain'],
                            'torch: prune names or a pruned state dict.')
_STEP = flags.DEFINE_string('step', 'ep0_it0', 'open_lth: model_<step>.pth.')

#: One example's shape per data set (checked against the model on export).
INPUT_SHAPES = {'mnist': (28, 28, 1), 'fashion_mnist': (28, 28, 1),
                'cifar10': (32, 32, 3)}


def main(argv):
  del argv
  run_dir = pathlib.Path(_RUN_DIR.value)
  if not layout.RunLayout(run_dir).config.exists():
    raise errors.MissingInputError(
        f'--run_dir={run_dir} holds no config.json: pass '
        'workdir/<run-hash> of a lottery run.')
  levels = [int(level) for level in _LEVEL.value]
  if _OUT.value and len(levels) > 1:
    raise errors.InputError(
        '--out names one file: pass one --level with it, or '
        'leave --out out.')
  for level in levels:
    if not storage.level_done(run_dir, _REPLICATE.value, level):
      raise errors.InputError(
          f'level {level} of replicate {_REPLICATE.value} is '
          f'not finished in {run_dir}: pick a finished level.')
  config = storage.read_config(run_dir)
  for level in levels:
    out = _OUT.value or str(layout.StudyDir(layout.RunLayout(
        run_dir).export).file(
            f'level_{level}{formats.SUFFIX[_FORMAT.value]}'))
    summary = formats.export(
        run_dir, level, _FORMAT.value, out, replicate=_REPLICATE.value,
        weights=_WEIGHTS.value, layout=_LAYOUT.value, step=_STEP.value,
        input_shape=INPUT_SHAPES.get(config.get('data.name')))
    print(formats.summary_line(summary), flush=True)
  print(provenance.note(pathlib.Path(out).parent))


if __name__ == '__main__':
  cli.run(main)
