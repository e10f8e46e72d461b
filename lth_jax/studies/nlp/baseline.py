"""TF-IDF + linear classifiers on a text config's documents and labels.

Two inputs, both on the config's own split (the fixed shuffle and the
validation hold-out of ``lth_jax.data.text``) and label set:

* ``model_input``: the ids the text-CNN reads (its vocabulary and its first
  ``max_length`` tokens), counted as a bag of words, without the padding
  and unknown ids;
* ``full_text``: every word of each document (scikit-learn's
  ``TfidfVectorizer``, whose default token pattern is the project's
  ``text.TOKEN_RE``), vocabulary from the training documents only.

Classifiers: ``LinearSVC`` and ``LogisticRegression`` (one-vs-rest per topic
on multi-label data). ``C`` is chosen on the validation split (micro-F1 on
multi-label data, accuracy otherwise); the test split is scored once, at
that ``C``. Metrics follow ``lth_jax.training.multilabel``: micro/macro F1
at the classifier's decision boundary, ``zero_division=0`` (a topic never
predicted and never present scores 0 in the macro mean).
"""
import dataclasses
from typing import Any, Sequence

import numpy as np
from scipy import sparse
from sklearn import feature_extraction
from sklearn import linear_model
from sklearn import metrics
from sklearn import multiclass
from sklearn import svm

from lth_jax import errors
from lth_jax.data import newsgroups
from lth_jax.data import registry
from lth_jax.data import reuters
from lth_jax.data import text

INPUTS = ('model_input', 'full_text')
CLASSIFIERS = ('linear_svc', 'logistic_regression')
#: The grid of inverse regularisation strengths tried on validation.
C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)


@dataclasses.dataclass(frozen=True)
class Splits:
  """Features (sparse rows) and labels of train, validation and test."""
  train: tuple[Any, np.ndarray]
  val: tuple[Any, np.ndarray]
  test: tuple[Any, np.ndarray]
  multi_label: bool


def bag_of_ids(ids: np.ndarray, vocab_size: int) -> sparse.csr_matrix:
  """Counts of each id per row ``[N, vocab_size]``, reserved ids dropped.

  >>> bag_of_ids(np.array([[2, 3, 2, 0], [1, 4, 0, 0]]), 5).toarray()
  array([[0., 0., 2., 1., 0.],
         [0., 0., 0., 0., 1.]])
  """
  rows = np.repeat(np.arange(ids.shape[0]), ids.shape[1])
  cols = ids.reshape(-1)
  keep = cols >= text.NUM_RESERVED
  values = np.ones(int(keep.sum()), np.float64)
  return sparse.csr_matrix((values, (rows[keep], cols[keep])),
                           shape=(ids.shape[0], vocab_size))


def _tfidf(train, val, test, vectorizer) -> tuple[Any, Any, Any]:
  return (vectorizer.fit_transform(train), vectorizer.transform(val),
          vectorizer.transform(test))


def model_input(data_config: Any) -> Splits:
  """The text-CNN's own input (encoded ids) as TF-IDF bags of words."""
  d = registry.get_dataset(data_config)
  size = int(max(d.train_images.max(), d.val_images.max(),
                 d.test_images.max())) + 1
  bags = [bag_of_ids(x, size) for x in (d.train_images, d.val_images,
                                        d.test_images)]
  feats = _tfidf(*bags, feature_extraction.text.TfidfTransformer(
      sublinear_tf=True))
  return Splits((feats[0], d.train_labels), (feats[1], d.val_labels),
                (feats[2], d.test_labels), d.multi_label)


def documents(data_config: Any) -> tuple[dict[str, tuple[list[str], Any]],
                                         bool]:
  """``{'train', 'test': (texts, labels)}`` of the config's data set, the
  training split in archive order (before the hold-out), and whether the
  labels are multi-hot."""
  name, t = data_config.name, data_config.text
  if name == 'reuters_modapte':
    docs = reuters.read_archive(reuters.archive_path(data_config.root))
    return reuters.split_documents(docs, reuters.categories(
        docs, t.categories), t.keep_empty), True
  if name == 'newsgroups20':
    path = newsgroups.archive_path(data_config.root)
    splits = newsgroups.read_archive(path, newsgroups.removals(data_config))
    _, labels = newsgroups.labelled(splits, path)
    return {s: (splits[s][0], labels[s]) for s in splits}, False
  raise errors.ConfigError(
      f'no linear baseline for data set {name!r}; it runs on '
      "'reuters_modapte' and 'newsgroups20'.")


def full_text(data_config: Any) -> Splits:
  """Whole documents as TF-IDF (sublinear tf), the config's split."""
  splits, multi_label = documents(data_config)
  texts, labels = splits['train']
  order = text.fixed_order(len(texts))
  cut = text.training_cut(len(texts), data_config.validation_size)
  texts = [texts[i] for i in order]
  labels = np.asarray(labels)[order]
  feats = _tfidf(texts[:cut], texts[cut:], splits['test'][0],
                 feature_extraction.text.TfidfVectorizer(
                     sublinear_tf=True, token_pattern=text.TOKEN_RE.pattern))
  return Splits((feats[0], labels[:cut]), (feats[1], labels[cut:]),
                (feats[2], np.asarray(splits['test'][1])), multi_label)


def classifier(name: str, c: float, multi_label: bool) -> Any:
  """A scikit-learn estimator: ``name`` in ``CLASSIFIERS`` at ``C=c``."""
  if name == 'linear_svc':
    base = svm.LinearSVC(C=c, dual='auto', max_iter=5000, random_state=0)
  elif name == 'logistic_regression':
    base = linear_model.LogisticRegression(C=c, max_iter=2000)
  else:
    raise errors.ConfigError(f'unknown classifier {name!r}; known: '
                             f'{", ".join(CLASSIFIERS)}.')
  return multiclass.OneVsRestClassifier(base) if multi_label else base


def scores(labels: np.ndarray, predicted: np.ndarray, multi_label: bool
           ) -> dict[str, float]:
  """Micro and macro F1 (and accuracy on single-label data).

  >>> scores(np.array([0, 1, 1]), np.array([0, 1, 0]), False)['acc']
  0.6666666666666666
  """
  out = {f'{avg}_f1': float(metrics.f1_score(labels, predicted, average=avg,
                                              zero_division=0))
         for avg in ('micro', 'macro')}
  if not multi_label:
    out['acc'] = float(metrics.accuracy_score(labels, predicted))
  return out


def fit(splits: Splits, name: str, grid: Sequence[float] = C_GRID
        ) -> dict[str, Any]:
  """Fits ``name`` at each ``C`` of ``grid``, keeps the best on validation,
  and scores the test split there.

  Returns:
    ``{'classifier', 'C', 'val': scores, 'test': scores}``.
  """
  key = 'micro_f1' if splits.multi_label else 'acc'
  best = None
  for c in grid:
    model = classifier(name, c, splits.multi_label).fit(*splits.train)
    val = scores(splits.val[1], model.predict(splits.val[0]),
                 splits.multi_label)
    if best is None or val[key] > best[1][key]:
      best = (c, val, model)
  c, val, model = best
  test = scores(splits.test[1], model.predict(splits.test[0]),
                splits.multi_label)
  return {'classifier': name, 'C': c, 'val': val, 'test': test}


def run(data_config: Any, inputs: Sequence[str] = INPUTS,
        classifiers: Sequence[str] = CLASSIFIERS) -> list[dict[str, Any]]:
  """Every classifier on every input; one record each (``fit``'s, with
  ``'input'``)."""
  build = {'model_input': model_input, 'full_text': full_text}
  records = []
  for source in inputs:
    if source not in build:
      raise errors.ConfigError(f'unknown baseline input {source!r}; known: '
                               f'{", ".join(INPUTS)}.')
    splits = build[source](data_config)
    records += [dict(fit(splits, name), input=source)
                for name in classifiers]
  return records
