"""Whether a source's inputs mean the same on a transfer target: the input
shapes, and for token ids the vocabulary (``lth_jax.data.text``).
"""
from typing import Sequence

import ml_collections

from lth_jax import config_lists
from lth_jax import errors


def check_input_shapes(source: Sequence[int], target: Sequence[int],
                       source_name: str = 'source',
                       target_name: str = 'target') -> None:
  """Raises ``ValueError`` unless one example has the same shape on both.

  >>> check_input_shapes((28, 28, 1), (28, 28, 1))
  >>> try:
  ...   check_input_shapes((28, 28, 1), (32, 32, 3), 'mnist', 'cifar10')
  ... except ValueError as e:
  ...   print(str(e)[:61])
  input shapes differ: mnist (28, 28, 1) vs cifar10 (32, 32, 3)
  """
  if tuple(source) != tuple(target):
    raise errors.InputError(
        f'input shapes differ: {source_name} {tuple(source)} vs '
        f'{target_name} {tuple(target)}; a ticket transfers only between '
        'data sets with the same input shape (resize or pad one of them).')


#: Data fields that fix a shared vocabulary (with ``validation_size``).
VOCABULARY_FIELDS = ('shared_vocabulary', 'vocab_size', 'min_count', 'remove',
                     'categories', 'keep_empty')


def check_vocabularies(source: ml_collections.ConfigDict,
                       target: ml_collections.ConfigDict) -> None:
  """Raises ``ValueError`` unless token ids mean the same words on both
  sides of a text pair: one data set, or one shared vocabulary built with
  the same data options.

  >>> from lth_jax.lottery import config as config_lib
  >>> c = config_lib.default_config()
  >>> c.data.name = 'newsgroups20'
  >>> t = c.copy_and_resolve_references()
  >>> t.data.name = 'reuters_modapte'
  >>> try:
  ...   check_vocabularies(c, t)
  ... except ValueError as e:
  ...   print(str(e)[:62])
  token ids of newsgroups20 and reuters_modapte mean other words
  """
  if source.data.name == target.data.name:
    return
  names = {source.data.name, target.data.name}
  spec = source.data.text.shared_vocabulary
  corpora = set(config_lists.items(spec))
  if not names <= corpora:
    raise errors.InputError(
        f'token ids of {source.data.name} and {target.data.name} mean other '
        'words (each has its own vocabulary): set config.data.text.'
        f"shared_vocabulary='{','.join(sorted(names))}' on both sides.")
  differ = [f'text.{f}' for f in VOCABULARY_FIELDS
            if source.data.text[f] != target.data.text[f]]
  if source.data.validation_size != target.data.validation_size:
    differ.append('validation_size')
  if differ:
    raise errors.InputError(f'the shared vocabulary differs between source and '
                     f'target: data.{", data.".join(differ)} differ; set '
                     'them alike on both sides.')
