r"""Whether two runs of one config are identical, bit for bit.

Compares every level (trunk and branches) of two run directories: the
digests of their mask and trained trees, ``metrics.jsonl`` and
``summary.json``. Use it to check that a code change keeps results (run
the same config on the old and the new code, on one machine)::

  python -m experiments.compare_runs --runs=old/5019b75555a6,new/5019b75555a6

Prints one line per level and exits 1 if anything differs.
"""
import json
import pathlib
import sys

from absl import flags

from experiments import cli
from lth_jax import errors
from lth_jax import files
from lth_jax.runs import layout

_RUNS = flags.DEFINE_list('runs', None, 'Two run directories.',
                          required=True)

#: What is compared in each level, relative to its folder.
COMPARED = (f'{layout.MASKS}/{files.DIGEST_FILE}',
            f'{layout.TRAINED}/{files.DIGEST_FILE}', layout.METRICS,
            layout.SUMMARY)


def level_dirs(run_dir: pathlib.Path) -> list[pathlib.Path]:
  """Every finished level of a run (trunk and branches), relative."""
  return sorted(p.parent.relative_to(run_dir)
                for p in run_dir.rglob(layout.SUMMARY)
                if p.parent.name.startswith('level_'))


def compare(a: pathlib.Path, b: pathlib.Path) -> list[str]:
  """One line per level of ``a``: its mask digest and what differs."""
  lines = []
  for rel in level_dirs(a):
    differ = [name for name in COMPARED
              if not (b / rel / name).exists()
              or (a / rel / name).read_bytes() != (b / rel / name).read_bytes()]
    digest = json.loads((a / rel / COMPARED[0]).read_text())['sha256'][:12]
    lines.append(f'{rel} masks {digest}: ' + (
        'identical' if not differ else 'DIFFERS in ' + ', '.join(differ)))
  return lines


def main(argv):
  del argv
  if len(_RUNS.value) != 2:
    raise errors.ConfigError(f'--runs takes two run directories, got '
                             f'{_RUNS.value}.')
  a, b = map(pathlib.Path, _RUNS.value)
  for d in (a, b):
    if not layout.RunLayout(d).config.exists():
      raise errors.MissingInputError(f'{d} is not a run directory (no '
                                     f'{layout.CONFIG}).')
  lines = compare(a, b)
  print('\n'.join(lines))
  same = lines and all(line.endswith('identical') for line in lines)
  print(f'run hashes {a.name} / {b.name}; ' + (
      'identical' if same else 'NOT identical'))
  sys.exit(0 if same else 1)


if __name__ == '__main__':
  cli.run(main)
