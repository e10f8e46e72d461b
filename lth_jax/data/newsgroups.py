"""20 Newsgroups "bydate" from ``20news-bydate.tar.gz`` (11,314 / 7,532).

The archive holds ``20news-bydate-train/<group>/<id>`` and
``20news-bydate-test/<group>/<id>``; classes are the group names, sorted.
Posts are decoded as latin-1 (as scikit-learn does). ``remove`` takes any of
``headers``, ``footers``, ``quotes``, with the semantics of scikit-learn's
``fetch_20newsgroups(remove=...)``, applied in that order.
"""
import pathlib
import re
import tarfile
import zlib
from typing import Any, Sequence

import numpy as np

from lth_jax import errors
from lth_jax.data import dataset
from lth_jax.data import raw_files
from lth_jax.data import registry
from lth_jax.data import text

ARCHIVE = '20news-bydate.tar.gz'
DATA_FOLDER = '20newsgroups'
SPLITS = {'train': '20news-bydate-train', 'test': '20news-bydate-test'}
COUNTS = {'train': 11314, 'test': 7532}
REMOVABLE = ('headers', 'footers', 'quotes')
#: SHA-256 of archives known to hold the standard documents: the copy in
#: ../shared/data (repacked) and the original (scikit-learn's checksum). Any
#: other archive is accepted if its per-split counts are the standard ones.
KNOWN_SHA256 = (
    '1621bae76e702ce148674ca00a3f14f0eba5d443086669143a00db904686eb77',
    '8f1b2514ca22a5ade8fbb9cfa5727df95fa587f4c87b786e15c759fa66d95610',
)

_QUOTE_RE = re.compile(
    r'(writes in|writes:|wrote:|says:|said:|^In article|^Quoted from|^\||^>)')


def strip_header(post: str) -> str:
  """Everything after the first blank line.

  >>> strip_header('From: a\\nSubject: b\\n\\nbody\\n\\nmore')
  'body\\n\\nmore'
  """
  return post.partition('\n\n')[2]


def strip_quotes(post: str) -> str:
  """Drops lines that quote (``>``, ``|``) or introduce a quote.

  >>> strip_quotes('In article <1@x> b writes:\\n> old\\nnew\\n|old')
  'new'
  """
  return '\n'.join(line for line in post.split('\n')
                   if not _QUOTE_RE.search(line))


def strip_footer(post: str) -> str:
  """Drops the signature: from the last blank or all-hyphens line on.

  >>> strip_footer('body\\nmore\\n--\\nJoe')
  'body\\nmore'
  >>> strip_footer('one line only')
  'one line only'
  """
  lines = post.strip().split('\n')
  line_num = 0
  for line_num in range(len(lines) - 1, -1, -1):
    if lines[line_num].strip().strip('-') == '':
      break
  return '\n'.join(lines[:line_num]) if line_num > 0 else post


def check_remove(remove: Sequence[str]) -> tuple[str, ...]:
  """Validates ``remove`` (names from ``REMOVABLE``) and returns it."""
  remove = tuple(r for r in remove if r)
  for r in remove:
    if r not in REMOVABLE:
      raise errors.InputError(f'unknown newsgroups removal {r!r}; known: '
                       f'{", ".join(REMOVABLE)} (comma-separated).')
  return remove


def clean(post: str, remove: Sequence[str]) -> str:
  """``post`` without the parts named in ``remove`` (scikit-learn's order)."""
  if 'headers' in remove:
    post = strip_header(post)
  if 'footers' in remove:
    post = strip_footer(post)
  if 'quotes' in remove:
    post = strip_quotes(post)
  return post


def read_archive(path: pathlib.Path, remove: Sequence[str] = ()
                 ) -> dict[str, tuple[list[str], list[str]]]:
  """``{'train': (texts, groups), 'test': (texts, groups)}`` in name order.

  Raises:
    raw_files.DataFileError: the archive is unreadable, truncated, or lacks
      a split; the message names the file.
  """
  remove = check_remove(remove)
  posts = {split: [] for split in SPLITS}
  try:
    with tarfile.open(path, 'r:gz') as tar:
      for member in tar:
        parts = member.name.strip('/').split('/')
        if not member.isfile() or len(parts) != 3:
          continue
        split = [s for s, folder in SPLITS.items() if folder == parts[0]]
        if not split:
          continue
        raw = tar.extractfile(member).read()
        posts[split[0]].append((parts[1], parts[2],
                                clean(raw.decode('latin-1'), remove)))
  except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
    raise raw_files.DataFileError(
        f'{path} is not a readable 20news-bydate.tar.gz (truncated or '
        f'corrupt: {e}). Replace it with the standard archive.') from e
  for split, folder in SPLITS.items():
    if not posts[split]:
      raise raw_files.DataFileError(
          f'{path} holds no {folder}/<group>/<id> documents: it is not the '
          '20news-bydate archive (or is truncated).')
  out = {}
  for split, items in posts.items():
    items.sort(key=lambda item: (item[0], _numeric_first(item[1])))
    out[split] = ([t for _, _, t in items], [g for g, _, _ in items])
  return out


def _numeric_first(name: str) -> tuple[int, Any]:
  return (0, int(name)) if name.isdigit() else (1, name)


def labelled(splits: dict[str, tuple[list[str], list[str]]], path: Any
             ) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
  """Class names (sorted training groups) and int32 labels per split."""
  groups = tuple(sorted(set(splits['train'][1])))
  index = {g: i for i, g in enumerate(groups)}
  unknown = set(splits['test'][1]) - set(groups)
  if unknown:
    raise raw_files.DataFileError(
        f'{path}: test groups {sorted(unknown)} have no training documents.')
  return groups, {s: np.array([index[g] for g in gs], np.int32)
                  for s, (_, gs) in splits.items()}


def check_counts(splits: dict[str, Any], path: Any) -> None:
  got = {s: len(splits[s][0]) for s in SPLITS}
  if got != COUNTS:
    raise raw_files.DataFileError(
        f'{path} has {got} documents per split, not the standard {COUNTS}: '
        'replace it with the standard 20news-bydate.tar.gz.')


def load_arrays(path: pathlib.Path, remove: Sequence[str],
                validation_size: int, vocab_size: int, min_count: int,
                max_length: int, cache_directory: pathlib.Path,
                expect_standard: bool = True,
                shared: text.SharedVocabulary | None = None
                ) -> text.TextArrays:
  """Parses (or reads from the cache) and encodes the archive at ``path``.

  ``expect_standard``: an archive whose checksum is not a known one must
  have the standard per-split counts. ``shared``: a vocabulary pooled with
  other corpora (``text.shared_vocabulary``) instead of this one's own.
  """
  remove = check_remove(remove)

  def make():
    splits = read_archive(path, remove)
    if expect_standard and text.file_sha256(path) not in KNOWN_SHA256:
      check_counts(splits, path)
    names, labels = labelled(splits, path)
    return text.encode_splits(splits['train'][0], labels['train'],
                              splits['test'][0], labels['test'], names,
                              validation_size, vocab_size, min_count,
                              max_length, shared.build() if shared else None)

  options = {'remove': sorted(remove), 'validation_size': validation_size,
             'vocab_size': vocab_size, 'min_count': min_count,
             'max_length': max_length, **(shared.options if shared else {})}
  return text.cached('newsgroups20', path, options, make, cache_directory)


def archive_path(root: Any) -> pathlib.Path:
  """``<root>/20newsgroups/20news-bydate.tar.gz``, checked to exist."""
  return text.archive_path(root, DATA_FOLDER, ARCHIVE, '20 Newsgroups')


def removals(data_config: Any) -> tuple[str, ...]:
  """``text.remove`` of a data config as a tuple."""
  remove = data_config.text.remove
  return tuple(remove.split(',')) if remove else ()


def training_texts(path: pathlib.Path, data_config: Any) -> list[str]:
  """The training split's posts (cleaned as configured), in name order."""
  return read_archive(path, removals(data_config))['train'][0]


text.register_corpus('newsgroups20', text.Corpus(
    lambda data_config: archive_path(data_config.root), training_texts))


@registry.register_dataset('newsgroups20')
def load_newsgroups20(data_config: Any) -> dataset.Dataset:
  """20 Newsgroups as token ids ``[N, max_length]`` and 20 class labels.

  Reads ``root``, ``validation_size`` and ``text.*`` (``vocab_size``,
  ``min_count``, ``max_length``, ``remove``, ``shared_vocabulary``,
  ``cache_dir``).
  """
  t = data_config.text
  arrays = load_arrays(archive_path(data_config.root), removals(data_config),
                       data_config.validation_size, t.vocab_size,
                       t.min_count, t.max_length, text.cache_dir(t.cache_dir),
                       shared=text.shared_vocabulary(data_config))
  return text.to_dataset('newsgroups20', arrays)
