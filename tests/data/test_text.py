"""Text data: tokeniser and vocabulary rules, the 20 Newsgroups and Reuters
readers on generated archives (including broken ones), and counts on the
real files."""
import io
import pathlib
import tarfile

import numpy as np
import pytest

from conftest import real_data_root
from lth_jax import data as data_lib
from lth_jax import lottery
from lth_jax.data import newsgroups
from lth_jax.data import reuters
from lth_jax.data import text

# ---------------------------------------------------------------- helpers


def write_tar(path: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
  with tarfile.open(path, 'w:gz') as tar:
    for name, content in files.items():
      raw = content.encode('latin-1')
      info = tarfile.TarInfo(name)
      info.size = len(raw)
      tar.addfile(info, io.BytesIO(raw))
  return path


POST = ('From: joe@x.org\nSubject: {subject}\nLines: 9\n\n'
        'In article <1@y.org> ann@y.org writes:\n> quoted {subject} text\n'
        '| also quoted\nmy own words about {subject} {word}\n'
        'second line\n\n--\nJoe Sig, signature line\n')


def newsgroups_files(train: dict[str, int], test: dict[str, int]
                     ) -> dict[str, str]:
  files = {}
  for split, groups in (('train', train), ('test', test)):
    for group, count in groups.items():
      for i in range(count):
        files[f'20news-bydate-{split}/{group}/{100 + i}'] = POST.format(
            subject=group.replace('.', ''), word=f'w{i % 3}')
  return files


def reuters_doc(new_id: int, split: str, topics: tuple[str, ...],
                body: str, has_topics: str = 'YES') -> str:
  ds = ''.join(f'<D>{t}</D>' for t in topics)
  return (f'<REUTERS TOPICS="{has_topics}" LEWISSPLIT="{split}" '
          f'CGISPLIT="TRAINING-SET" OLDID="1" NEWID="{new_id}">\n'
          f'<DATE>26-FEB-1987</DATE>\n<TOPICS>{ds}</TOPICS>\n'
          f'<PLACES><D>usa</D></PLACES>\n<TEXT>&#2;\n<TITLE>T{new_id} '
          f'&amp; CO</TITLE>\n<BODY>{body}\n&#3;</BODY></TEXT>\n</REUTERS>\n')


REUTERS_DOCS = (
    (1, 'TRAIN', ('grain', 'corn'), 'grain corn up', 'YES'),
    (2, 'TRAIN', ('earn',), 'earn profit', 'YES'),
    (3, 'TRAIN', ('onlytrain',), 'rare topic', 'YES'),   # no test doc
    (4, 'TRAIN', (), 'nothing here', 'YES'),             # no topic at all
    (5, 'TRAIN', ('earn',), 'not in modapte', 'NO'),
    (6, 'NOT-USED', ('earn',), 'unused split', 'YES'),
    (7, 'TEST', ('grain',), 'grain down', 'YES'),
    (8, 'TEST', ('earn', 'onlytest'), 'earn loss', 'YES'),
    (9, 'TEST', ('corn',), 'corn', 'YES'),
    (10, 'TRAIN', ('earn',), 'earn again', 'YES'),
)


def reuters_files(docs=REUTERS_DOCS) -> dict[str, str]:
  head = '<!DOCTYPE lewis SYSTEM "lewis.dtd">\n'
  first = head + ''.join(reuters_doc(*d) for d in docs[:5])
  second = head + ''.join(reuters_doc(*d) for d in docs[5:])
  return {'README.txt': 'readme', 'reut2-000.sgm': first,
          'reut2-001.sgm': second}


# ------------------------------------------------------ tokens, vocabulary


def test_tokenize_lowercases_and_drops_single_characters():
  assert text.tokenize('The CAT sat; a 9 x-ray 42') == [
      'the', 'cat', 'sat', 'ray', '42']


def test_vocabulary_reserves_padding_and_unknown_ids():
  docs = [['b', 'a', 'b', 'c'], ['a', 'b', 'd']]
  vocab = text.build_vocabulary(docs, vocab_size=4)
  assert vocab.words == ('b', 'a')          # counts 3, 2; 4 ids in all
  assert vocab.size == 4
  ids = text.encode([['a', 'b', 'c', 'zzz']], vocab, 6)
  # 'a' -> 3, 'b' -> 2, out-of-vocabulary -> UNK, tail -> PAD.
  assert ids.tolist() == [[3, 2, 1, 1, 0, 0]]
  assert text.PAD_ID == 0 and text.UNK_ID == 1
  assert min(vocab.index().values()) == text.NUM_RESERVED


def test_vocabulary_min_count_ties_and_bad_sizes():
  docs = [['z', 'y', 'x', 'x'], ['y', 'z', 'w']]
  assert text.build_vocabulary(docs, 100, min_count=2).words == (
      'x', 'y', 'z')                          # ties alphabetical, no 'w'
  with pytest.raises(ValueError, match='vocab_size must be an integer > 2'):
    text.build_vocabulary(docs, 2)
  with pytest.raises(ValueError, match='min_count'):
    text.build_vocabulary(docs, 10, min_count=0)
  with pytest.raises(ValueError, match='max_length'):
    text.encode(docs, text.Vocabulary(('x',)), 0)


def test_encode_cuts_long_documents_at_the_end():
  vocab = text.Vocabulary(('a', 'b', 'c'))
  assert text.encode([['c', 'b', 'a', 'a', 'b']], vocab, 3).tolist() == [
      [4, 3, 2]]


def test_vocabulary_comes_from_the_training_documents_only():
  train = [f'alpha common doc{i}' for i in range(10)]
  labels = np.arange(10, dtype=np.int32)
  arrays = text.encode_splits(train, labels, ['common betaonlytest'],
                              np.zeros(1, np.int32), ('c',),
                              validation_size=3, vocab_size=1000,
                              min_count=1, max_length=4)
  words = set(arrays.vocabulary.words)
  order = text.fixed_order(10)
  held_out = {f'doc{i}' for i in order[7:]}
  assert held_out.isdisjoint(words)           # validation words are unknown
  assert {f'doc{i}' for i in order[:7]} <= words
  assert 'betaonlytest' not in words
  assert arrays.test_ids.tolist() == [[arrays.vocabulary.index()['common'],
                                       text.UNK_ID, 0, 0]]
  # Labels travel with their documents through the fixed shuffle.
  assert arrays.train_labels.tolist() == order[:7].tolist()
  assert arrays.val_labels.tolist() == order[7:].tolist()


# ------------------------------------------------------------ newsgroups


# (post, header removed, footer removed, quotes removed), as scikit-learn
# 1.9.1's strip_newsgroup_header / _footer / _quoting return them.
SKLEARN_CASES = (
    ('no blank line at all', '', 'no blank line at all',
     'no blank line at all'),
    ('Head: x\n\nbody\n\n\n', 'body\n\n\n', 'Head: x',
     'Head: x\n\nbody\n\n\n'),
    ('> only quotes\n|more', '', '> only quotes\n|more', ''),
    ('a\n-----\nsig\n\n', '', 'a', 'a\n-----\nsig\n\n'),
    ('', '', '', ''),
    ('x\n\nIn article <a> said: y\nz', 'In article <a> said: y\nz', 'x',
     'x\n\nz'),
    (POST.format(subject='s', word='w'),
     'In article <1@y.org> ann@y.org writes:\n> quoted s text\n| also '
     'quoted\nmy own words about s w\nsecond line\n\n--\nJoe Sig, '
     'signature line\n',
     'From: joe@x.org\nSubject: s\nLines: 9\n\nIn article <1@y.org> '
     'ann@y.org writes:\n> quoted s text\n| also quoted\nmy own words '
     'about s w\nsecond line\n',
     'From: joe@x.org\nSubject: s\nLines: 9\n\nmy own words about s w\n'
     'second line\n\n--\nJoe Sig, signature line\n'),
)


@pytest.mark.parametrize('post,header,footer,quotes', SKLEARN_CASES)
def test_newsgroups_removal_has_scikit_learn_semantics(post, header, footer,
                                                       quotes):
  assert newsgroups.strip_header(post) == header
  assert newsgroups.strip_footer(post) == footer
  assert newsgroups.strip_quotes(post) == quotes


def test_newsgroups_reader_counts_labels_and_removal(tmp_path):
  path = write_tar(tmp_path / '20news-bydate.tar.gz', newsgroups_files(
      {'sci.b': 3, 'alt.a': 2}, {'alt.a': 1, 'sci.b': 2}))
  splits = newsgroups.read_archive(path)
  assert [len(splits[s][0]) for s in ('train', 'test')] == [5, 3]
  names, labels = newsgroups.labelled(splits, path)
  assert names == ('alt.a', 'sci.b')
  assert labels['train'].tolist() == [0, 0, 1, 1, 1]
  assert labels['test'].tolist() == [0, 1, 1]
  assert 'Subject' in splits['train'][0][0]
  stripped = newsgroups.read_archive(path, ('headers', 'footers', 'quotes'))
  first = stripped['train'][0][0]
  assert first == 'my own words about alta w0\nsecond line\n'
  with pytest.raises(ValueError, match='unknown newsgroups removal'):
    newsgroups.read_archive(path, ('signatures',))


def test_newsgroups_broken_archives_name_the_file(tmp_path):
  good = write_tar(tmp_path / 'good.tar.gz',
                   newsgroups_files({'a.b': 40}, {'a.b': 40}))
  truncated = tmp_path / 'truncated.tar.gz'
  truncated.write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
  with pytest.raises(data_lib.DataFileError, match='truncated.tar.gz'):
    newsgroups.read_archive(truncated)
  no_test = write_tar(tmp_path / 'notest.tar.gz',
                      newsgroups_files({'a.b': 2}, {}))
  with pytest.raises(data_lib.DataFileError,
                     match='notest.tar.gz holds no 20news-bydate-test'):
    newsgroups.read_archive(no_test)
  with pytest.raises(data_lib.DataFileError, match='not the standard'):
    newsgroups.load_arrays(good, (), 1, 100, 1, 30, tmp_path / 'cache')


def test_newsgroups_arrays_are_cached_by_source_and_options(tmp_path,
                                                            monkeypatch):
  path = write_tar(tmp_path / 'n.tar.gz', newsgroups_files(
      {'alt.a': 4, 'sci.b': 4}, {'alt.a': 2, 'sci.b': 2}))
  cache = tmp_path / 'cache'
  args = dict(validation_size=2, vocab_size=50, min_count=1, max_length=30,
              cache_directory=cache, expect_standard=False)
  first = newsgroups.load_arrays(path, ('headers',), **args)
  assert first.train_ids.shape == (6, 30) and first.val_ids.shape == (2, 30)
  assert first.test_ids.dtype == np.int32
  assert len(list(cache.glob('newsgroups20-*.npz'))) == 1

  def fail(*a, **k):
    raise AssertionError('parsed again despite the cache')

  monkeypatch.setattr(newsgroups, 'read_archive', fail)
  again = newsgroups.load_arrays(path, ('headers',), **args)
  for a, b in zip(first[:6], again[:6]):
    np.testing.assert_array_equal(a, b)
  assert again.vocabulary == first.vocabulary
  assert again.class_names == ('alt.a', 'sci.b')
  with pytest.raises(AssertionError, match='parsed again'):
    newsgroups.load_arrays(path, ('quotes',), **args)   # new options
  monkeypatch.undo()
  (cached_file,) = cache.glob('newsgroups20-*.npz')
  cached_file.write_bytes(b'not an npz')            # a broken cache file
  rebuilt = newsgroups.load_arrays(path, ('headers',), **args)
  np.testing.assert_array_equal(rebuilt.train_ids, first.train_ids)
  assert np.load(cached_file)['train_ids'].shape == (6, 30)
  path.write_bytes(write_tar(tmp_path / 'other.tar.gz', newsgroups_files(
      {'alt.a': 5, 'sci.b': 4}, {'alt.a': 2, 'sci.b': 2})).read_bytes())
  changed = newsgroups.load_arrays(path, ('headers',), **args)  # new source
  assert changed.train_ids.shape == (7, 30)


# ----------------------------------------------------------------- reuters


def test_reuters_modapte_split_categories_and_targets(tmp_path):
  path = write_tar(tmp_path / 'reuters21578.tar.gz', reuters_files())
  docs = reuters.read_archive(path)
  assert [d.new_id for d in docs] == [1, 2, 3, 4, 7, 8, 9, 10]
  assert docs[0].text == 'T1 & CO grain corn up'
  classes = reuters.categories(docs)
  assert classes == ('corn', 'earn', 'grain')   # train and test both
  splits = reuters.split_documents(docs, classes)
  texts, targets = splits['train']
  assert len(texts) == 5
  assert targets.tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 0], [0, 0, 0],
                              [0, 1, 0]]
  assert splits['test'][1].tolist() == [[0, 0, 1], [0, 1, 0], [1, 0, 0]]
  dropped = reuters.split_documents(docs, classes, keep_empty=False)
  assert len(dropped['train'][0]) == 3 and len(dropped['test'][0]) == 3
  assert reuters.categories(docs, 'r10') == ('earn', 'corn', 'grain')
  with pytest.raises(ValueError, match='known: modapte90, r10'):
    reuters.categories(docs, 'r8')


def test_reuters_arrays_are_multi_hot_float(tmp_path):
  path = write_tar(tmp_path / 'r.tar.gz', reuters_files())
  arrays = reuters.load_arrays(path, 'modapte90', True, 1, 100, 1, 10,
                               tmp_path / 'cache', expect_standard=False)
  assert arrays.train_labels.dtype == np.float32
  assert arrays.train_labels.shape == (4, 3)
  assert arrays.test_labels.shape == (3, 3)
  assert arrays.class_names == ('corn', 'earn', 'grain')


def test_reuters_malformed_and_truncated_name_the_file(tmp_path):
  files = reuters_files()
  files['reut2-001.sgm'] = files['reut2-001.sgm'][:-40]  # lose a </REUTERS>
  bad = write_tar(tmp_path / 'bad.tar.gz', files)
  with pytest.raises(data_lib.DataFileError,
                     match=r'bad.tar.gz:reut2-001.sgm: 5 <REUTERS> elements '
                           'open but 4 close'):
    reuters.read_archive(bad)
  no_split = reuters_files()
  no_split['reut2-000.sgm'] = no_split['reut2-000.sgm'].replace(
      ' LEWISSPLIT="TRAIN"', '', 1)
  with pytest.raises(data_lib.DataFileError, match="lacks \\['LEWISSPLIT'\\]"):
    reuters.read_archive(write_tar(tmp_path / 'nosplit.tar.gz', no_split))
  good = write_tar(tmp_path / 'good.tar.gz', reuters_files())
  cut = tmp_path / 'cut.tar.gz'
  cut.write_bytes(good.read_bytes()[:200])
  with pytest.raises(data_lib.DataFileError, match='cut.tar.gz is not a '
                     'readable'):
    reuters.read_archive(cut)
  empty = write_tar(tmp_path / 'empty.tar.gz', {'README.txt': 'x'})
  with pytest.raises(data_lib.DataFileError, match='no reut2-NNN.sgm'):
    reuters.read_archive(empty)


def test_loaders_registered_and_missing_root_is_a_clear_error(tmp_path):
  assert {'newsgroups20', 'reuters_modapte'} <= set(
      data_lib.all_dataset_names())
  c = lottery.default_config()
  c.data.root = str(tmp_path)
  for name, fname in (('newsgroups20', '20news-bydate.tar.gz'),
                      ('reuters_modapte', 'reuters21578.tar.gz')):
    c.data.name = name
    with pytest.raises(data_lib.DataFileError, match=f'missing.*{fname}'):
      data_lib.get_dataset(c.data)


# -------------------------------------------------------------- real files


@pytest.fixture(scope='module')
def real_newsgroups():
  root = real_data_root('20newsgroups')
  path = root / newsgroups.DATA_FOLDER / newsgroups.ARCHIVE
  return newsgroups.read_archive(path)


@pytest.fixture(scope='module')
def real_reuters():
  root = real_data_root('reuters21578')
  return reuters.read_archive(root / reuters.DATA_FOLDER / reuters.ARCHIVE)


def test_real_newsgroups_split_counts(real_newsgroups):
  assert {s: len(t) for s, (t, _) in real_newsgroups.items()} == {
      'train': 11314, 'test': 7532}
  names, labels = newsgroups.labelled(real_newsgroups, 'real')
  assert len(names) == 20
  assert np.bincount(labels['train']).min() >= 377   # talk.religion.misc


def test_real_reuters_modapte_counts_and_categories(real_reuters):
  assert sum(d.split == 'train' for d in real_reuters) == 9603
  assert sum(d.split == 'test' for d in real_reuters) == 3299
  classes = reuters.categories(real_reuters)
  assert len(classes) == 90
  dropped = reuters.split_documents(real_reuters, classes, keep_empty=False)
  assert (len(dropped['train'][0]), len(dropped['test'][0])) == (7770, 3019)
  assert reuters.categories(real_reuters, 'r10')[:2] == ('earn', 'acq')


# ------------------------------------------------------- shared vocabulary

BOTH = 'newsgroups20,reuters_modapte'


def shared_data_config(root, name, shared=BOTH):
  c = lottery.default_config().data
  c.name, c.root, c.validation_size = name, str(root), 0
  c.text.vocab_size, c.text.shared_vocabulary = 200, shared
  return c


def test_shared_vocabulary_gives_both_corpora_one_word_index(tmp_path):
  root = tmp_path / 'data'
  (root / 'reuters21578').mkdir(parents=True)
  (root / '20newsgroups').mkdir()
  news_path = write_tar(root / '20newsgroups' / '20news-bydate.tar.gz',
                        newsgroups_files({'alt.a': 3, 'sci.b': 3},
                                         {'alt.a': 1, 'sci.b': 1}))
  reuters_path = write_tar(root / 'reuters21578' / 'reuters21578.tar.gz',
                           reuters_files())
  cache = tmp_path / 'cache'
  args = dict(validation_size=0, vocab_size=200, min_count=1, max_length=30,
              cache_directory=cache, expect_standard=False)
  news = newsgroups.load_arrays(news_path, (), **args, shared=(
      text.shared_vocabulary(shared_data_config(root, 'newsgroups20'))))
  reut = reuters.load_arrays(reuters_path, 'modapte90', True, **args,
                             shared=text.shared_vocabulary(
                                 shared_data_config(root, 'reuters_modapte')))
  assert news.vocabulary == reut.vocabulary
  index = news.vocabulary.index()
  assert {'alta', 'grain'} <= set(index)   # a word of each corpus
  assert index['grain'] in reut.train_ids and index['alta'] in news.train_ids
  own = newsgroups.load_arrays(news_path, (), **args)
  assert 'grain' not in own.vocabulary.words
  assert own.train_ids.shape == news.train_ids.shape
  # Its own cache entry: the other archive's checksum is in the key.
  assert len(list(cache.glob('newsgroups20-*.npz'))) == 2
  with pytest.raises(ValueError, match=r"unknown corpora \['imdb'\]"):
    text.shared_corpora('newsgroups20,imdb', 'newsgroups20')
  with pytest.raises(ValueError, match="does not name the data set it is "
                     "set for \\('newsgroups20'\\)"):
    text.shared_corpora('reuters_modapte', 'newsgroups20')
  config = lottery.default_config()
  config.data.text.shared_vocabulary = BOTH
  with pytest.raises(ValueError, match="\\('mnist'\\)"):
    lottery.validate(config)
