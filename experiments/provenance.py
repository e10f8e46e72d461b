r"""Lists every results table and whether the code changed since it was made.

  python -m experiments.provenance [--strict]
  python -m experiments.provenance --cite=RUN_DIR[,RUN_DIR...]

Reads ``README.md`` and ``docs/results/*.md`` of the repository in the
working directory; each table's marker
``<!-- provenance: commit=<sha> config=<hash> cpu="..." -->`` (the rules:
docs/results/README.md) is checked against ``git log`` of ``lth_jax/``,
``configs/`` and ``experiments/``. With ``--strict`` exits 1 unless every
table is ``current``. ``--cite`` adds the newest record of each
``RUN_DIR/provenance.json`` (a directory a launcher printed) to the ledger
``docs/results/sources.json`` and prints its marker: such a table turns
stale only when a file that command imported changes.
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
_CITE = flags.DEFINE_list('cite', [], 'Run directories whose newest '
                          'provenance record to add to the ledger.')


def main(argv):
  del argv
  if _CITE.value:
    for run_dir in _CITE.value:
      print(provenance.cite(run_dir, _ROOT.value))
    return
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
