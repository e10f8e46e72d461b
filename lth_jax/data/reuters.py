"""Reuters-21578 (SGML), the ModApte split, multi-hot topic targets.

ModApte: documents with ``TOPICS="YES"`` and ``LEWISSPLIT="TRAIN"``
(9,603) or ``"TEST"`` (3,299). Classes: the 90 topics with at least one
training and one test document (sorted), or, with ``categories='r10'``,
the 10 of them with the most training documents. A document's text is the
content of its ``<TEXT>`` element (title, dateline, body) without tags and
with entities resolved. Documents with none of the classes keep all-zero
targets by default; ``keep_empty=False`` drops them (7,770 / 3,019 with the
90 classes in the shared copy; NLTK's copy lists 7,769 / 3,019).
"""
import collections
import html
import pathlib
import re
import tarfile
import zlib
from typing import Any, NamedTuple, Sequence

import numpy as np

from lth_jax import errors
from lth_jax.data import dataset
from lth_jax.data import raw_files
from lth_jax.data import registry
from lth_jax.data import text

ARCHIVE = 'reuters21578.tar.gz'
DATA_FOLDER = 'reuters21578'
COUNTS = {'train': 9603, 'test': 3299}
CATEGORY_SETS = ('modapte90', 'r10')
#: SHA-256 of the copy in ../shared/data (repacked); any other archive is
#: accepted if its ModApte counts are the standard ones.
KNOWN_SHA256 = (
    '2af0820c6ff2d30cfc99d71faea23c828ffadf7d280a4d5718819284f89caad0',
)

_DOC_RE = re.compile(r'<REUTERS\b([^>]*)>(.*?)</REUTERS>', re.DOTALL)
_ATTR_RE = re.compile(r'(\w+)="([^"]*)"')
_TOPICS_RE = re.compile(r'<TOPICS>(.*?)</TOPICS>', re.DOTALL)
_D_RE = re.compile(r'<D>(.*?)</D>', re.DOTALL)
_TEXT_RE = re.compile(r'<TEXT\b[^>]*>(.*?)</TEXT>', re.DOTALL)
_TAG_RE = re.compile(r'<[^>]+>')
_SGM_RE = re.compile(r'(^|/)reut2-\d{3}\.sgm$')


class Document(NamedTuple):
  """One ModApte document: NEWID, split ('train'/'test'), topics, text."""
  new_id: int
  split: str
  topics: tuple[str, ...]
  text: str


def parse_sgml(sgml: str, source: str) -> list[Document]:
  """The ModApte documents of one ``reut2-NNN.sgm`` file's text.

  Args:
    sgml: the file's content.
    source: its name, for errors.

  Raises:
    raw_files.DataFileError: an unclosed ``<REUTERS>`` element or one
      without ``NEWID`` / ``LEWISSPLIT`` / ``TOPICS`` attributes.

  >>> doc = ('<REUTERS TOPICS="YES" LEWISSPLIT="TEST" NEWID="7">'
  ...        '<TOPICS><D>grain</D><D>corn</D></TOPICS>'
  ...        '<TEXT><TITLE>A &amp; B</TITLE><BODY>up</BODY></TEXT></REUTERS>')
  >>> parse_sgml(doc, 'x.sgm')
  [Document(new_id=7, split='test', topics=('grain', 'corn'), text='A & B up')]
  """
  opened = len(re.findall(r'<REUTERS\b', sgml))
  matches = list(_DOC_RE.finditer(sgml))
  if opened != len(matches):
    raise raw_files.DataFileError(
        f'{source}: {opened} <REUTERS> elements open but {len(matches)} '
        'close: the file is truncated or malformed.')
  docs = []
  for m in matches:
    attrs = dict(_ATTR_RE.findall(m.group(1)))
    missing = {'NEWID', 'LEWISSPLIT', 'TOPICS'} - set(attrs)
    if missing:
      raise raw_files.DataFileError(
          f'{source}: a <REUTERS> element lacks {sorted(missing)}: '
          f'{m.group(0)[:80]!r}')
    if attrs['TOPICS'] != 'YES' or attrs['LEWISSPLIT'] not in ('TRAIN',
                                                               'TEST'):
      continue
    body = m.group(2)
    topics = _TOPICS_RE.search(body)
    names = tuple(d.strip() for d in _D_RE.findall(topics.group(1))
                  ) if topics else ()
    content = _TEXT_RE.search(body)
    words = html.unescape(_TAG_RE.sub(' ', content.group(1))
                          ) if content else ''
    docs.append(Document(int(attrs['NEWID']), attrs['LEWISSPLIT'].lower(),
                         names, ' '.join(words.split())))
  return docs


def read_archive(path: pathlib.Path) -> list[Document]:
  """Every ModApte document of the archive's ``reut2-*.sgm``, by NEWID."""
  docs = []
  found = 0
  try:
    with tarfile.open(path, 'r:gz') as tar:
      for member in tar:
        if not (member.isfile() and _SGM_RE.search(member.name)):
          continue
        found += 1
        sgml = tar.extractfile(member).read().decode('latin-1')
        docs.extend(parse_sgml(sgml, f'{path}:{member.name}'))
  except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
    raise raw_files.DataFileError(
        f'{path} is not a readable reuters21578.tar.gz (truncated or '
        f'corrupt: {e}). Replace it with the standard archive.') from e
  if not found:
    raise raw_files.DataFileError(
        f'{path} holds no reut2-NNN.sgm files: it is not the Reuters-21578 '
        'archive.')
  docs.sort(key=lambda d: d.new_id)
  return docs


def categories(docs: Sequence[Document], category_set: str = 'modapte90'
               ) -> tuple[str, ...]:
  """The topics with a training and a test document (sorted), or R(10).

  >>> d = [Document(1, 'train', ('a', 'b'), ''), Document(2, 'test', ('a',),
  ...      ''), Document(3, 'train', ('c',), ''), Document(4, 'test', ('c',),
  ...      ''), Document(5, 'train', ('c',), '')]
  >>> categories(d), categories(d, 'r10')
  (('a', 'c'), ('c', 'a'))
  """
  if category_set not in CATEGORY_SETS:
    raise errors.InputError(f'unknown Reuters category set {category_set!r}; '
                     f'known: {", ".join(CATEGORY_SETS)}.')
  train = collections.Counter(t for d in docs if d.split == 'train'
                              for t in set(d.topics))
  test = {t for d in docs if d.split == 'test' for t in d.topics}
  both = sorted(t for t in train if t in test)
  if category_set == 'r10':
    return tuple(sorted(both, key=lambda t: (-train[t], t))[:10])
  return tuple(both)


def multi_hot(docs: Sequence[Document], classes: Sequence[str]
              ) -> np.ndarray:
  """float32 ``[N, len(classes)]`` targets (topics outside ``classes``
  ignored)."""
  index = {c: i for i, c in enumerate(classes)}
  out = np.zeros((len(docs), len(classes)), np.float32)
  for row, d in enumerate(docs):
    for t in d.topics:
      if t in index:
        out[row, index[t]] = 1.0
  return out


def split_documents(docs: Sequence[Document], classes: Sequence[str],
                    keep_empty: bool = True
                    ) -> dict[str, tuple[list[str], np.ndarray]]:
  """``{'train': (texts, targets), 'test': ...}``; ``keep_empty=False`` drops
  documents with none of ``classes``."""
  out = {}
  for split in ('train', 'test'):
    part = [d for d in docs if d.split == split]
    targets = multi_hot(part, classes)
    if not keep_empty:
      keep = targets.any(-1)
      part = [d for d, k in zip(part, keep) if k]
      targets = targets[keep]
    out[split] = ([d.text for d in part], targets)
  return out


def check_counts(docs: Sequence[Document], path: Any) -> None:
  got = {s: sum(d.split == s for d in docs) for s in COUNTS}
  if got != COUNTS:
    raise raw_files.DataFileError(
        f'{path} has {got} ModApte documents, not the standard {COUNTS}: '
        'replace it with the standard reuters21578.tar.gz.')


def load_arrays(path: pathlib.Path, category_set: str, keep_empty: bool,
                validation_size: int, vocab_size: int, min_count: int,
                max_length: int, cache_directory: pathlib.Path,
                expect_standard: bool = True,
                shared: text.SharedVocabulary | None = None
                ) -> text.TextArrays:
  """Parses (or reads from the cache) and encodes the archive at ``path``.

  ``expect_standard``: an archive whose checksum is not a known one must
  have the standard ModApte counts. ``shared``: a vocabulary pooled with
  other corpora (``text.shared_vocabulary``) instead of this one's own.
  """
  if category_set not in CATEGORY_SETS:
    categories((), category_set)  # raises, naming the known sets

  def make():
    docs = read_archive(path)
    if expect_standard and text.file_sha256(path) not in KNOWN_SHA256:
      check_counts(docs, path)
    classes = categories(docs, category_set)
    splits = split_documents(docs, classes, keep_empty)
    return text.encode_splits(splits['train'][0], splits['train'][1],
                              splits['test'][0], splits['test'][1], classes,
                              validation_size, vocab_size, min_count,
                              max_length, shared.build() if shared else None)

  options = {'categories': category_set, 'keep_empty': bool(keep_empty),
             'validation_size': validation_size, 'vocab_size': vocab_size,
             'min_count': min_count, 'max_length': max_length,
             **(shared.options if shared else {})}
  return text.cached('reuters_modapte', path, options, make, cache_directory)


def archive_path(root: Any) -> pathlib.Path:
  """``<root>/reuters21578/reuters21578.tar.gz``, checked to exist."""
  return text.archive_path(root, DATA_FOLDER, ARCHIVE, 'Reuters-21578')


def training_texts(path: pathlib.Path, data_config: Any) -> list[str]:
  """The ModApte training texts kept under ``text.categories`` and
  ``text.keep_empty``, by NEWID."""
  docs = read_archive(path)
  t = data_config.text
  return split_documents(docs, categories(docs, t.categories),
                         t.keep_empty)['train'][0]


text.register_corpus('reuters_modapte', text.Corpus(
    lambda data_config: archive_path(data_config.root), training_texts))


@registry.register_dataset('reuters_modapte')
def load_reuters_modapte(data_config: Any) -> dataset.Dataset:
  """Reuters ModApte as token ids and multi-hot targets (multi-label).

  Reads ``root``, ``validation_size`` and ``text.*`` (``vocab_size``,
  ``min_count``, ``max_length``, ``categories``, ``keep_empty``,
  ``shared_vocabulary``, ``cache_dir``).
  """
  t = data_config.text
  arrays = load_arrays(archive_path(data_config.root), t.categories,
                       t.keep_empty, data_config.validation_size,
                       t.vocab_size, t.min_count, t.max_length,
                       text.cache_dir(t.cache_dir),
                       shared=text.shared_vocabulary(data_config))
  return text.to_dataset('reuters_modapte', arrays, multi_label=True)
