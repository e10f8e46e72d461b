"""Provenance of results: which code, command and config made a table.

Writing: every launcher in ``experiments/`` calls ``write(out_dir,
config)``, which appends one record to ``out_dir/provenance.json``: the
commit (``git rev-parse HEAD``) and whether the work tree had uncommitted
changes to tracked files (``dirty``), the command line, a hash of the
resolved config, the time and the CPU.

Checking: a results document marks each table with the record that made
it, in an HTML comment above the table::

  <!-- provenance: commit=<sha> config=<hash> cpu="<cpu>" -->

A marker covers every table after it up to the next heading or marker.
``check_docs`` lists every table of ``README.md`` and ``docs/results/*.md``
with its status (a marker ``<!-- provenance: static -->`` says a table
holds no measured numbers, e.g. a list of configs): ``current`` (no commit touched the code paths since the
recorded one), ``stale`` (one did), ``dirty`` (made from an uncommitted
tree), ``unknown commit`` or ``missing`` (no marker).
``python -m experiments.provenance`` prints it.

Each record also lists ``sources``: the files under ``lth_jax/``,
``experiments/`` and ``configs/`` the command imported (and its config
file). ``cite`` copies them into the ledger ``docs/results/sources.json``
under ``<commit>:<config hash>``; a marker found there is stale only when a
later commit changed one of *its* files, so a change to an unrelated study
leaves the table current. A marker not in the ledger falls back to every
file of ``CODE_PATHS``.
"""
import dataclasses
import datetime
import hashlib
import json
import os
import pathlib
import platform
import re
import shlex
import subprocess
import sys
from typing import Any, Sequence

from lth_jax import errors
from lth_jax import files

PathLike = str | pathlib.Path
#: The paths whose changes make a table stale.
CODE_PATHS = ('lth_jax', 'configs', 'experiments')
FILE_NAME = 'provenance.json'
#: Where ``cite`` keeps the sources of every cited record, under the root.
LEDGER = pathlib.Path('docs') / 'results' / 'sources.json'
MARKER = re.compile(r'<!--\s*provenance:(.*?)-->')
_HEADING = re.compile(r'^\s{0,3}#{1,6}\s')
_SEPARATOR = re.compile(r'^\s*\|(\s*:?-+:?\s*\|)+\s*$')


def _git(root: PathLike, *args: str) -> str | None:
  """``git -C root args`` stdout, or None where git or the repo is absent."""
  try:
    out = subprocess.run(['git', '-C', str(root), *args], check=True,
                         capture_output=True, text=True)
  except (OSError, subprocess.CalledProcessError):
    return None
  return out.stdout.strip()


def source_root() -> pathlib.Path:
  """The directory holding the imported ``lth_jax`` package."""
  return pathlib.Path(__file__).resolve().parent.parent


def git_state(root: PathLike | None = None,
              code_paths: Sequence[str] = CODE_PATHS) -> dict[str, Any]:
  """``{'commit': sha or None, 'dirty': bool or None}`` of ``root``'s repo;
  dirty: any change under ``code_paths`` that is not committed (new files
  included; docs, tests and results folders do not count)."""
  root = source_root() if root is None else root
  commit = _git(root, 'rev-parse', 'HEAD')
  if commit is None:
    return {'commit': None, 'dirty': None}
  status = _git(root, 'status', '--porcelain', '--', *code_paths)
  return {'commit': commit, 'dirty': bool(status)}


def config_hash(config: Any) -> str | None:
  """12 hex digits of SHA-256 over the config's sorted JSON (a ConfigDict,
  a dict, or None)."""
  if config is None:
    return None
  data = config.to_dict() if hasattr(config, 'to_dict') else config
  text = json.dumps(data, sort_keys=True, default=str)
  return hashlib.sha256(text.encode()).hexdigest()[:12]


def cpu_name() -> str:
  """The CPU's model name (Linux), else the platform's processor."""
  try:
    for line in pathlib.Path('/proc/cpuinfo').read_text().splitlines():
      if line.startswith('model name'):
        return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def loaded_sources(argv: Sequence[str] = (), root: PathLike | None = None,
                   code_paths: Sequence[str] = CODE_PATHS) -> list[str]:
  """The files under ``root``'s ``code_paths`` this process imported, and
  the config files named by ``--config=<file>[:preset]`` in ``argv``;
  sorted, relative to ``root``."""
  root = (source_root() if root is None else pathlib.Path(root)).resolve()
  found = set()
  names = [getattr(m, '__file__', None) for m in list(sys.modules.values())]
  names += [a.split('=', 1)[1].split(':', 1)[0] for a in argv
            if a.startswith('--config=')]
  for name in names:
    if not name:
      continue
    try:
      rel = pathlib.Path(name).resolve().relative_to(root)
    except (ValueError, OSError):
      continue
    if rel.parts and rel.parts[0] in code_paths and (root / rel).is_file():
      found.add(rel.as_posix())
  return sorted(found)


def record(config: Any = None, argv: Sequence[str] | None = None,
           root: PathLike | None = None) -> dict[str, Any]:
  """One provenance record of the running command."""
  argv = sys.argv if argv is None else argv
  return {**git_state(root),
          'sources': loaded_sources(argv[1:], root),
          'command': shlex.join(['python', '-m', _module(argv[0]),
                                 *argv[1:]]) if argv else '',
          'config_hash': config_hash(config),
          'time_utc': datetime.datetime.now(datetime.timezone.utc)
                      .isoformat(timespec='seconds'),
          'cpu': cpu_name(), 'cpu_count': os.cpu_count()}


def _module(program: str) -> str:
  """``experiments/lottery.py`` -> ``experiments.lottery``."""
  path = pathlib.Path(program)
  if path.suffix != '.py':
    return program
  try:
    rel = path.resolve().relative_to(source_root())
  except ValueError:
    return program
  return '.'.join(rel.with_suffix('').parts)


def write(out_dir: PathLike, config: Any = None,
          argv: Sequence[str] | None = None) -> dict[str, Any]:
  """Appends ``record(config, argv)`` to ``out_dir/provenance.json`` (a
  list, written atomically) and returns the record."""
  path = pathlib.Path(out_dir) / FILE_NAME
  records = files.read_json(path) if path.exists() else []
  if not isinstance(records, list):
    raise errors.InputError(
        f'{path} is not a list of provenance records; move it '
        'away and rerun.')
  new = record(config, argv)
  path.parent.mkdir(parents=True, exist_ok=True)
  files.write_json(path, records + [new])
  return new


def marker(rec: dict[str, Any]) -> str:
  """The document marker of a record (see the module docstring).

  >>> marker({'commit': 'abc', 'dirty': False, 'config_hash': 'f00',
  ...         'cpu': 'AMD EPYC 7B13'})
  '<!-- provenance: commit=abc config=f00 cpu="AMD EPYC 7B13" -->'
  """
  words = [f"commit={rec.get('commit')}"]
  if rec.get('dirty'):
    words.append('dirty')
  if rec.get('config_hash'):
    words.append(f"config={rec['config_hash']}")
  words.append(f'cpu="{rec.get("cpu", "")}"')
  return f'<!-- provenance: {" ".join(words)} -->'


def note(out_dir: PathLike | None, config: Any = None) -> str:
  """Records the running command in ``out_dir`` (``write``; only builds
  the record when ``out_dir`` is None) and returns the lines a launcher
  prints: where it went and the marker to put above the table."""
  if out_dir is None:
    return f'provenance (not written): {marker(record(config))}'
  rec = write(out_dir, config)
  if rec['dirty']:
    warning = ('\nwarning: the work tree has uncommitted changes: commit '
               'and rerun before quoting these numbers.')
  else:
    warning = ''
  return (f'provenance: {pathlib.Path(out_dir) / FILE_NAME}\n'
          f'{marker(rec)}{warning}')


def parse_marker(text: str) -> dict[str, str]:
  """``commit=abc config=xy cpu="AMD EPYC"`` -> a dict (a bare word maps
  to ``'1'``: ``dirty``).

  >>> parse_marker(' commit=abc1234 cpu="AMD EPYC" dirty ')
  {'commit': 'abc1234', 'cpu': 'AMD EPYC', 'dirty': '1'}
  """
  out = {}
  for word in shlex.split(text):
    key, _, value = word.partition('=')
    out[key] = value if _ else '1'
  return out


@dataclasses.dataclass(frozen=True)
class Table:
  """A markdown table of a document and the marker that covers it."""
  path: str
  line: int
  header: str
  marker: dict[str, str] | None


def find_tables(path: PathLike, name: str | None = None) -> list[Table]:
  """The tables of one markdown file (a header line followed by a
  ``|---|`` line), each with the marker in force above it."""
  lines = pathlib.Path(path).read_text().splitlines()
  tables, marker, fence = [], None, False
  for i, line in enumerate(lines):
    if line.lstrip().startswith('```'):
      fence = not fence
    if fence:
      continue
    found = MARKER.search(line)
    if found:
      marker = parse_marker(found.group(1))
    elif _HEADING.match(line):
      marker = None
    elif (line.lstrip().startswith('|') and i + 1 < len(lines)
          and _SEPARATOR.match(lines[i + 1])
          and not (i and lines[i - 1].lstrip().startswith('|'))):
      tables.append(Table(name or str(path), i + 1, line.strip(), marker))
  return tables


def ledger_key(rec: dict[str, Any]) -> str:
  """``<commit>:<config hash>`` of a record or a parsed marker."""
  config = rec.get('config_hash', rec.get('config')) or ''
  return f"{rec.get('commit')}:{config}"


def read_ledger(root: PathLike) -> dict[str, list[str]]:
  """The ledger of cited records' sources (empty where there is none)."""
  path = pathlib.Path(root) / LEDGER
  return files.read_json(path) if path.is_file() else {}


def cite(run_dir: PathLike, root: PathLike | None = None) -> str:
  """Adds the newest record of ``run_dir/provenance.json`` to the ledger
  of ``root`` (the repo) and returns its marker."""
  root = source_root() if root is None else pathlib.Path(root)
  path = pathlib.Path(run_dir) / FILE_NAME
  if not path.is_file():
    raise errors.MissingInputError(
        f'{path} does not exist: pass the directory a launcher printed '
        "after 'provenance:'.")
  rec = files.read_json(path)[-1]
  if not rec.get('sources'):
    raise errors.InputError(
        f'{path} has no sources (written by an older lth-jax): rerun the '
        'command on the current code.')
  ledger = read_ledger(root)
  ledger[ledger_key(rec)] = sorted(set(ledger.get(ledger_key(rec), []))
                                   | set(rec['sources']))
  (root / LEDGER).parent.mkdir(parents=True, exist_ok=True)
  files.write_json(root / LEDGER, dict(sorted(ledger.items())))
  return marker(rec)


def status(root: PathLike, marker: dict[str, str] | None,
           code_paths: Sequence[str] = CODE_PATHS,
           ledger: dict[str, list[str]] | None = None) -> str:
  """A table's status against the repo at ``root`` (see the module): the
  marker's sources in ``ledger`` (default: read it) are the code paths
  when it lists them."""
  if marker and 'static' in marker:
    return 'static'
  if not marker or not marker.get('commit'):
    return 'missing'
  commit = marker['commit']
  if _git(root, 'cat-file', '-e', f'{commit}^{{commit}}') is None:
    return f'unknown commit {commit}'
  ledger = read_ledger(root) if ledger is None else ledger
  sources = ledger.get(ledger_key(marker))
  paths = sources or code_paths
  changed = _git(root, 'log', '--format=%h', f'{commit}..HEAD', '--', *paths)
  if changed:
    later = changed.splitlines()
    what = ('files the command imported' if sources
            else ', '.join(code_paths))
    return (f'stale: {len(later)} later commit(s) changed {what}, '
            f'last {later[0]}')
  if marker.get('dirty') not in (None, '0', 'false', 'False'):
    return 'dirty'
  return 'current'


def result_documents(root: PathLike) -> list[pathlib.Path]:
  """``README.md`` and ``docs/results/*.md`` under ``root``."""
  root = pathlib.Path(root)
  docs = [root / 'README.md'] + sorted((root / 'docs' / 'results').glob(
      '*.md'))
  return [d for d in docs if d.is_file()]


def check_docs(root: PathLike, code_paths: Sequence[str] = CODE_PATHS
               ) -> list[tuple[Table, str]]:
  """Every table of ``result_documents(root)`` with its ``status``."""
  root = pathlib.Path(root)
  ledger = read_ledger(root)
  out = []
  for doc in result_documents(root):
    for table in find_tables(doc, str(doc.relative_to(root))):
      out.append((table, status(root, table.marker, code_paths, ledger)))
  return out
