"""Text to fixed-length token ids: tokeniser, vocabulary, cached arrays.

Documents become int32 rows of ``max_length`` token ids. Two ids are
reserved and are never words: ``PAD_ID = 0`` fills a short document's tail,
``UNK_ID = 1`` stands for a word outside the vocabulary. The vocabulary is
built from the training documents only (the ones that train, after the
validation hold-out): words by count, descending, ties alphabetical, at
least ``min_count`` occurrences, at most ``vocab_size`` ids in all
(reserved ones included).

A *shared* vocabulary (``data.text.shared_vocabulary``, e.g.
``'newsgroups20,reuters_modapte'``) is built from the pooled training
documents of several registered corpora instead, so that a token id means
the same word in each: a ticket's embedding then transfers between them.

Parsing an archive is slow (seconds); ``cached`` keeps the resulting arrays
in an ``.npz`` named by the source file's SHA-256 and every option that
changes them (with a shared vocabulary, every pooled archive's SHA-256),
written atomically.
"""
import collections
import hashlib
import json
import os
import pathlib
import re
import zipfile
from typing import Any, Callable, Iterable, NamedTuple, Sequence

import numpy as np

from lth_jax import errors
from lth_jax.data import dataset
from lth_jax.data import raw_files

PAD_ID = 0
UNK_ID = 1
NUM_RESERVED = 2
CACHE_DIR_ENV = 'LTH_CACHE_DIR'

#: scikit-learn's default ``token_pattern``: words of two or more characters.
TOKEN_RE = re.compile(r'(?u)\b\w\w+\b')
#: Bumped whenever tokenising or encoding changes (part of every cache key).
FORMAT_VERSION = 1


def tokenize(text: str) -> list[str]:
  """Lower-cased words of two or more word characters.

  >>> tokenize("Don't PANIC: 42 is the answer, a b.")
  ['don', 'panic', '42', 'is', 'the', 'answer']
  """
  return TOKEN_RE.findall(text.lower())


class Vocabulary(NamedTuple):
  """Words by id; ``words[i]`` has id ``i + NUM_RESERVED``."""
  words: tuple[str, ...]

  @property
  def size(self) -> int:
    """Number of ids, the reserved ones included (the embedding's rows)."""
    return len(self.words) + NUM_RESERVED

  def index(self) -> dict[str, int]:
    return {w: i + NUM_RESERVED for i, w in enumerate(self.words)}


def build_vocabulary(documents: Iterable[Sequence[str]], vocab_size: int,
                     min_count: int = 1) -> Vocabulary:
  """The most frequent words of tokenised ``documents``.

  Args:
    documents: token lists (training documents only).
    vocab_size: most ids in all, the two reserved ones included (>= 3).
    min_count: fewest occurrences a word needs (>= 1).

  Returns:
    The vocabulary: counts descending, ties alphabetical.

  >>> build_vocabulary([['b', 'a', 'b'], ['c', 'a', 'd']], 4).words
  ('a', 'b')
  >>> build_vocabulary([['b', 'a', 'b'], ['c']], 10, min_count=2).words
  ('b',)
  """
  if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or (
      vocab_size <= NUM_RESERVED):
    raise errors.InputError(
        f'vocab_size must be an integer > {NUM_RESERVED} (the '
        f'padding and unknown ids count), got {vocab_size!r}.')
  if isinstance(min_count, bool) or not isinstance(min_count, int) or (
      min_count < 1):
    raise errors.InputError(
        f'min_count must be an integer >= 1, got {min_count!r}.')
  counts = collections.Counter()
  for doc in documents:
    counts.update(doc)
  ranked = sorted((w for w, c in counts.items() if c >= min_count),
                  key=lambda w: (-counts[w], w))
  return Vocabulary(tuple(ranked[:vocab_size - NUM_RESERVED]))


def encode(documents: Sequence[Sequence[str]], vocabulary: Vocabulary,
           max_length: int) -> np.ndarray:
  """Token lists -> int32 ``[N, max_length]``: cut at the end, padded after.

  >>> v = Vocabulary(('a', 'b'))
  >>> encode([['a', 'x', 'b', 'a'], ['b']], v, 3).tolist()
  [[2, 1, 3], [3, 0, 0]]
  """
  if isinstance(max_length, bool) or not isinstance(max_length, int) or (
      max_length < 1):
    raise errors.InputError(f'max_length must be a positive integer, got '
                     f'{max_length!r}.')
  index = vocabulary.index()
  ids = np.full((len(documents), max_length), PAD_ID, np.int32)
  for row, doc in enumerate(documents):
    tokens = [index.get(w, UNK_ID) for w in doc[:max_length]]
    ids[row, :len(tokens)] = tokens
  return ids


class TextArrays(NamedTuple):
  """Encoded splits; labels int32 ``[N]`` or float32 multi-hot ``[N, C]``."""
  train_ids: np.ndarray
  train_labels: np.ndarray
  val_ids: np.ndarray
  val_labels: np.ndarray
  test_ids: np.ndarray
  test_labels: np.ndarray
  class_names: tuple[str, ...]
  vocabulary: Vocabulary


def fixed_order(n: int) -> np.ndarray:
  """A fixed permutation of ``n`` documents (seed 0, every run the same).

  Archives list documents by class or by date; the validation hold-out is
  taken from the end of this order so that it mixes every class.
  """
  return np.random.default_rng(0).permutation(n)


def training_cut(n: int, validation_size: int) -> int:
  """How many of ``n`` training documents train (the rest validate)."""
  if not 0 <= validation_size < n:
    raise errors.InputError(
        f'validation_size {validation_size} must be in [0, {n})'
        f' ({n} training documents).')
  return n - validation_size


def encode_splits(train_texts: Sequence[str], train_labels: np.ndarray,
                  test_texts: Sequence[str], test_labels: np.ndarray,
                  class_names: Sequence[str], validation_size: int,
                  vocab_size: int, min_count: int, max_length: int,
                  vocabulary: Vocabulary | None = None) -> TextArrays:
  """Shuffles the training split (fixed), holds the last part out, encodes.

  The vocabulary is built from the documents that train only, unless one
  is given (a shared vocabulary).
  """
  cut = training_cut(len(train_texts), validation_size)
  order = fixed_order(len(train_texts))
  train_tokens = [tokenize(train_texts[i]) for i in order]
  train_labels = np.asarray(train_labels)[order]
  vocab = vocabulary or build_vocabulary(train_tokens[:cut], vocab_size,
                                         min_count)
  ids = encode(train_tokens, vocab, max_length)
  test_ids = encode([tokenize(t) for t in test_texts], vocab, max_length)
  return TextArrays(ids[:cut], train_labels[:cut], ids[cut:],
                    train_labels[cut:], test_ids, np.asarray(test_labels),
                    tuple(class_names), vocab)


def training_tokens(train_texts: Sequence[str], validation_size: int
                    ) -> list[list[str]]:
  """The tokenised documents that train (``encode_splits``' order and cut).

  >>> sorted(training_tokens(['aa', 'bb cc', 'dd'], 0))
  [['aa'], ['bb', 'cc'], ['dd']]
  >>> len(training_tokens(['aa', 'bb cc', 'dd'], 1))
  2
  """
  cut = training_cut(len(train_texts), validation_size)
  return [tokenize(train_texts[i]) for i in fixed_order(len(train_texts))
          [:cut]]


class Corpus(NamedTuple):
  """How to reach a registered corpus's training texts from a data config.

  Attributes:
    archive: ``data_config -> path`` of its source archive (checked).
    training_texts: ``(path, data_config) -> texts`` of its training split
      in archive order, before the validation hold-out.
  """
  archive: Callable[[Any], pathlib.Path]
  training_texts: Callable[[pathlib.Path, Any], Sequence[str]]


_CORPORA: dict[str, Corpus] = {}


def register_corpus(name: str, corpus: Corpus) -> None:
  """Makes ``name`` available to ``data.text.shared_vocabulary``."""
  _CORPORA[name] = corpus


def shared_corpora(spec: str, name: str) -> tuple[str, ...]:
  """The corpora named by ``data.text.shared_vocabulary`` (sorted; ``()``
  for ``''``: the data set's own vocabulary).

  Raises:
    ValueError: an unknown corpus, or a list without ``name`` (the data
      set being loaded).
  """
  names = tuple(sorted({n.strip() for n in spec.split(',') if n.strip()}))
  if not names:
    return ()
  unknown = [n for n in names if n not in _CORPORA]
  if unknown:
    raise errors.InputError(
        f'data.text.shared_vocabulary names unknown corpora '
        f'{unknown}; known: {", ".join(sorted(_CORPORA))}.')
  if name not in names:
    raise errors.InputError(
        f'data.text.shared_vocabulary={spec!r} does not name '
        f'the data set it is set for ({name!r}): list it too '
        "(or set '' for its own vocabulary).")
  return names


class SharedVocabulary(NamedTuple):
  """A vocabulary pooled over corpora: its cache-key part and its builder."""
  options: dict[str, Any]
  build: Callable[[], Vocabulary]


def shared_vocabulary(data_config: Any) -> SharedVocabulary | None:
  """The shared vocabulary ``data_config`` asks for, or None.

  Every corpus contributes the documents that train under this config's
  ``validation_size`` and ``text.*`` options (each corpus reads the options
  that apply to it), so both sides of a pair with the same data options
  build the same vocabulary.
  """
  t = data_config.text
  names = shared_corpora(t.shared_vocabulary, data_config.name)
  if not names:
    return None
  paths = {n: _CORPORA[n].archive(data_config) for n in names}

  def build() -> Vocabulary:
    docs = []
    for n in names:
      docs += training_tokens(_CORPORA[n].training_texts(paths[n],
                                                          data_config),
                              data_config.validation_size)
    return build_vocabulary(docs, t.vocab_size, t.min_count)

  return SharedVocabulary(
      {'shared_vocabulary': [[n, file_sha256(paths[n])] for n in names],
       'shared_options': {'remove': t.remove, 'categories': t.categories,
                          'keep_empty': bool(t.keep_empty)}},
      build)


def file_sha256(path: pathlib.Path) -> str:
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for chunk in iter(lambda: f.read(1 << 20), b''):
      digest.update(chunk)
  return digest.hexdigest()


def cache_dir(configured: str = '') -> pathlib.Path:
  """``configured``, else ``$LTH_CACHE_DIR``, else ``~/.cache/lth_jax``."""
  where = configured or os.environ.get(CACHE_DIR_ENV) or '~/.cache/lth_jax'
  return pathlib.Path(where).expanduser()


def cache_key(source_sha256: str, options: dict[str, Any]) -> str:
  """16 hex digits naming arrays made from one source with ``options``.

  >>> cache_key('ab', {'x': 1}) == cache_key('ab', {'x': 1})
  True
  >>> cache_key('ab', {'x': 1}) == cache_key('ab', {'x': 2})
  False
  """
  blob = json.dumps({'source': source_sha256, 'format': FORMAT_VERSION,
                     **options}, sort_keys=True, default=str)
  return hashlib.sha256(blob.encode()).hexdigest()[:16]


def save_arrays(path: pathlib.Path, arrays: TextArrays) -> None:
  """Writes ``arrays`` to ``path`` (.npz) atomically."""
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(path.name + f'.tmp{os.getpid()}')
  with open(tmp, 'wb') as f:
    np.savez(f, **{k: v for k, v in arrays._asdict().items()
                   if k not in ('class_names', 'vocabulary')},
             class_names=np.array(arrays.class_names, dtype=str),
             words=np.array(arrays.vocabulary.words, dtype=str))
  os.replace(tmp, path)


def load_arrays(path: pathlib.Path) -> TextArrays:
  with np.load(path) as z:
    names = [f for f in TextArrays._fields
             if f not in ('class_names', 'vocabulary')]
    return TextArrays(*(z[f] for f in names),
                      class_names=tuple(str(c) for c in z['class_names']),
                      vocabulary=Vocabulary(tuple(str(w) for w in z['words'])))


def cached(name: str, source: pathlib.Path, options: dict[str, Any],
           make: Callable[[], TextArrays], directory: pathlib.Path
           ) -> TextArrays:
  """``make()``'s arrays, from ``directory`` if made before with ``options``.

  Args:
    name: the data set's name (the cache file's prefix).
    source: the archive the arrays come from (its SHA-256 is in the key).
    options: every option that changes the arrays (JSON-serialisable).
    make: parses and encodes; called only on a cache miss.
    directory: where cache files live.

  Returns:
    The arrays. A cache file that cannot be read is rebuilt.
  """
  path = directory / f'{name}-{cache_key(file_sha256(source), options)}.npz'
  if path.is_file():
    try:
      return load_arrays(path)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
      pass  # unreadable (e.g. a foreign file): rebuilt below
  arrays = make()
  save_arrays(path, arrays)
  return arrays


def archive_path(root: Any, folder: str, archive: str, title: str
                 ) -> pathlib.Path:
  """``<root>/<folder>/<archive>``, checked to exist (``title`` names it).

  Raises:
    raw_files.DataFileError: no data root, or no archive there (the
      message says where to put it).
  """
  root_path = raw_files.data_root(root)
  if root_path is None:
    raise raw_files.DataFileError(
        f'no data root for {title}: put {archive} in <root>/{folder}/ and '
        f'pass config.data.root=<root> or set {raw_files.DATA_DIR_ENV}=<root> '
        '(tfds has no copy of it).')
  path = root_path / folder / archive
  if not path.is_file():
    raise raw_files.DataFileError(
        f'missing data file {path}: put the standard {archive} there, or '
        f'point config.data.root / {raw_files.DATA_DIR_ENV} at a root '
        f'holding {folder}/.')
  return path


def to_dataset(name: str, arrays: TextArrays, multi_label: bool = False
               ) -> dataset.Dataset:
  """``arrays`` as the registry's ``Dataset`` (classes from its names)."""
  return dataset.Dataset(name, len(arrays.class_names), arrays.train_ids,
                         arrays.train_labels, arrays.val_ids,
                         arrays.val_labels, arrays.test_ids,
                         arrays.test_labels, multi_label=multi_label)
