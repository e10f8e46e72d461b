"""The text-CNN ensemble's configs (20 Newsgroups, Reuters), shared body.

Paper preset (the seed thesis): vocabulary of 60,000 ids from the training
documents, 200 tokens per document, embedding 300 (one shared), Adam 1e-3,
batch 60, 10 epochs per level, 10 levels; the embedding and the dense output
layer pruned 20 % and the convolutions 15 % per level (layer-wise), rewinding
to initialisation; 1,000 training documents held out for validation.

The ``cpu`` preset fits a whole IMP run with two controls and 2 replicates
on a loaded 2-core machine (20 Newsgroups: about 62 minutes at load
10-17, ~1.5 steps/s per replicate; ``python -m benchmarks.text_step
--vocab_size=5000 --embed_dim=16 --length=100`` measures the step). What
it changes, and nothing else:

* vocabulary capped at 5,000 ids (words seen at least twice);
* documents cut to 100 tokens, embedding width 16 (not 300): the model is
  linear up to the output, so its 48 features span at most ``embed_dim``
  directions (the earlier width-8 preset, 2 epochs at Adam 5e-3, stopped
  at 65.6 % on 20 Newsgroups, still under-trained);
* 3 epochs per level at Adam 1e-2, validated every 80 steps: the dense
  net's validation loss reaches its minimum before the last step on 20
  Newsgroups (step 400 of 513);
* on Reuters, Adam 3e-2 and 10 epochs per level (1,430 steps, validated
  every 72): at 2 epochs the dense net was still learning (validation
  micro-F1 0.67); at 10 its validation loss is at its minimum near the end
  (step 1,368; micro-F1 0.75), and Adam 1e-2 or width 64 did no better
  (0.74, 0.77 at twice the time; see docs/results/nlp.md);
* 3 levels at 60 % (embedding, output) and 45 % (convolutions) per level:
  41.5 %, 17.4 % and 7.4 % of the 89,792 prunable weights remain (the
  paper's 10 levels at 20 % / 15 % reach 10.8 %).

The ``test`` preset (a few steps, 1 level, 2 modules) only checks the
plumbing.

20 Newsgroups drops headers, footers and quoted replies by default
(scikit-learn's recommended ``remove=('headers', 'footers', 'quotes')``:
headers name the newsgroup, the label). ``remove=none`` keeps the raw posts
(the setting of runs before this default; a different data set, so a
different run hash), ``remove=headers+quotes`` any subset.

Options (comma-separated): ``preset=paper|cpu|test``,
``prune_embedding=1|0`` (default 1: the embedding is prunable),
``remove=all|none|<parts joined by +>`` (20 Newsgroups only; default all),
``replicates=N``, ``levels=L``, ``seed=S``.
"""
import ml_collections

from configs import options as options_lib
from lth_jax.data import newsgroups
from lth_jax.lottery import config as config_lib

#: Prunable parameters: kernels, and the embedding unless opted out.
PRUNABLE_WITH_EMBEDDING = r'(^|/)(kernel|embedding)$'
PRUNABLE_KERNELS = r'(^|/)kernel$'
#: 20 Newsgroups' default ``data.text.remove`` (scikit-learn's advice).
NEWSGROUPS_REMOVE = ','.join(newsgroups.REMOVABLE)


def remove_option(value: str) -> str:
  """``remove=`` as a ``data.text.remove`` value.

  >>> remove_option('all'), remove_option('none')
  ('headers,footers,quotes', '')
  >>> remove_option('quotes+headers')
  'headers,quotes'
  """
  if value == 'all':
    return NEWSGROUPS_REMOVE
  if value == 'none':
    return ''
  parts = newsgroups.check_remove(value.split('+'))
  return ','.join(p for p in newsgroups.REMOVABLE if p in parts)


def text_config(dataset: str, arg: str | None
                ) -> ml_collections.ConfigDict:
  """The config of the ensemble on ``dataset`` with ``arg``'s options."""
  options = options_lib.parse_options(arg)
  preset = options.pop('preset', 'paper')
  prune_embedding = options.pop('prune_embedding', '1')
  if prune_embedding not in ('0', '1'):
    raise ValueError(f'prune_embedding must be 0 or 1, got '
                     f'{prune_embedding!r}.')
  remove = options.pop('remove', None)
  categories = options.pop('categories', 'r10' if preset == 'cpu'
                           and dataset == 'reuters_modapte' else None)
  c = config_lib.default_config()
  c.model = 'text_cnn_ensemble'
  c.data.name = dataset
  if dataset == 'newsgroups20':
    c.data.text.remove = remove_option(remove or 'all')
  elif remove is not None:
    raise ValueError(f'remove= applies to 20 Newsgroups only, not to '
                     f'{dataset}.')
  if categories is not None:
    if dataset != 'reuters_modapte':
      raise ValueError(f'categories= applies to Reuters only, not to '
                       f'{dataset}.')
    c.data.text.categories = categories
    # R(10) keeps the documents with one of its topics (the usual R(10)).
    c.data.text.keep_empty = categories != 'r10'
  c.data.validation_size = 1000
  c.data.text.vocab_size = 60000
  c.data.text.min_count = 1
  c.data.text.max_length = 200
  c.model_kwargs = ml_collections.ConfigDict(
      {'vocab_size': 60000, 'embed_dim': 300})
  c.training.optimizer = 'adam'
  c.training.learning_rate = 1e-3
  c.training.batch_size = 60
  c.training.steps = '10ep'
  c.training.eval_every = '1ep'
  c.pruning.strategy = 'layerwise'
  c.pruning.rate = 0.2                 # embedding and output
  c.pruning.layer_rates = 'conv_=0.15'
  c.pruning.prunable = (PRUNABLE_WITH_EMBEDDING if prune_embedding == '1'
                        else PRUNABLE_KERNELS)
  c.pruning.rewind = 'init'
  c.pruning.levels = 10
  c.checkpoint_every = '0it'
  if preset == 'cpu':
    c.data.text.vocab_size = 5000
    c.data.text.min_count = 2
    c.data.text.max_length = 64
    c.model_kwargs.vocab_size = 5000
    c.model_kwargs.embed_dim = 16
    c.training.learning_rate = 1e-2
    c.training.steps = '2ep'
    c.training.eval_every = '86it'     # half an epoch
    c.pruning.rate = 0.6
    c.pruning.layer_rates = 'conv_=0.45'
    c.pruning.levels = 2
    c.sweep.strategy = 'vmap'          # the replicates in one program
    if dataset == 'reuters_modapte':
      c.training.learning_rate = 3e-2
      c.training.steps = '3ep'
      c.training.eval_every = '52it'   # half an epoch of R(10)
  elif preset == 'test':
    c.data.text.vocab_size = 500
    c.data.text.max_length = 40
    c.model_kwargs.vocab_size = 500
    c.model_kwargs.embed_dim = 4
    c.model_kwargs.num_modules = 2     # quick to compile; same code path
    c.training.steps = '4it'
    c.training.eval_every = '2it'
    c.pruning.levels = 1
  elif preset != 'paper':
    raise options_lib.unknown_preset(preset, ('paper', 'cpu', 'test'))
  options_lib.apply_common_options(c, options)
  c.lock()
  return c
