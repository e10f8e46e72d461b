r"""Lists every results table and whether the code changed since it was made.

  python -m experiments.provenance [--strict]

Reads ``README.md`` and ``docs/results/*.md`` of the repository in the
working directory; each table's marker
``<!-- provenance: commit=<sha> config=<hash> cpu="..." -->`` (the rules:
docs/results/README.md) is checked against ``git log`` of ``lth_jax/``,
``configs/`` and ``experiments/``. With ``--strict`` exits 1 unless every
table is ``current``.
"""
import collections
import sys

from absl import flags

from experiments import cli
from lth_jax import provenance

_ROOT = flags.DEFINE_string('root', '.', 'The repository root.')
_STRICT = flags.DEFINE_bool('strict', False, 'Exit 1 unless every table is '
                            'current.')
_PATHS = flags.DEFINE_list('code_paths', list(provenance.CODE_PATHS),
                           'Paths whose changes make a table stale.')


def main(argv):
  del argv
  found = provenance.check_docs(_ROOT.value, _PATHS.value)
  for table, state in found:
    print(f'{table.path}:{table.line}: {state}: {table.header[:70]}')
  counts = collections.Counter(s.split(':')[0].split(' ')[0]
                               for _, s in found)
  print(f'\n{len(found)} tables: ' + ', '.join(
      f'{n} {s}' for s, n in sorted(counts.items())))
  if _STRICT.value and set(counts) - {'current'}:
    sys.exit(1)


if __name__ == '__main__':
  cli.run(main)
