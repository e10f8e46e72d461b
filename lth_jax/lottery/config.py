"""The lottery config schema: defaults, validation, and the run hash.

Every experiment config starts from ``default_config()`` and overrides
fields; the schema is locked, so a misspelt field is an error. A run is
named by a hash of the fields that differ from these defaults (open_lth's
rule), so adding a new field with a default never renames old runs.
"""
import difflib
import hashlib
import json
import pathlib
import re
from typing import Any

import ml_collections

from lth_jax import data
from lth_jax import errors
from lth_jax import models
from lth_jax import pruning
from lth_jax.data import augment as augment_lib
from lth_jax.data import text as text_lib
from lth_jax.data import tfds_source
from lth_jax.lottery import strategies
from lth_jax.runs import layout
from lth_jax.training import durations
from lth_jax.training import optimizers
from lth_jax.training import replicates as replicates_lib

#: Fields that change how a run executes but not its results.
#: ``pruning.levels`` is one: level L depends only on the levels before it, so
#: a finished run is extended in place by rerunning it with more levels.
NON_SEMANTIC = ('replicates', 'sweep', 'checkpoint_every', 'progress',
                'tensorboard', 'pruning.levels',
                'data.root', 'data.source', 'data.tfds_data_dir',
                'data.tfds_manual_dir', 'data.text.cache_dir')

REWIND_MODES = ('init', 'step', 'lr', 'finetune')


def default_config() -> ml_collections.ConfigDict:
  """All fields of a lottery run, with LeNet-300-100 / MNIST paper defaults."""
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.replicates = 1
  c.model = 'lenet300_100'
  c.model_kwargs = ml_collections.ConfigDict()

  c.data = ml_collections.ConfigDict()
  c.data.name = 'mnist'
  c.data.root = ''            # raw files root; '' -> $LTH_DATA_DIR
  c.data.source = 'auto'      # 'auto' | 'raw' | 'tfds'
  c.data.validation_size = 5000
  c.data.augment = 'none'     # 'none' | 'crop_flip'
  c.data.tfds_data_dir = ''
  c.data.tfds_manual_dir = ''
  c.data.synthetic_train_size = 512
  c.data.synthetic_test_size = 256
  c.data.synthetic_validation_size = 64
  c.data.synthetic_seed = 0
  # Text data sets (newsgroups20, reuters_modapte): see lth_jax/data/text.py.
  c.data.text = ml_collections.ConfigDict()
  c.data.text.vocab_size = 60000     # ids in all, padding and unknown included
  c.data.text.min_count = 1
  c.data.text.max_length = 200
  c.data.text.remove = ''            # newsgroups: 'headers,footers,quotes'
  c.data.text.categories = 'modapte90'   # reuters: 'modapte90' | 'r10'
  c.data.text.keep_empty = True      # reuters: keep docs with no category
  # '' (own training documents) or corpora pooled into one vocabulary, e.g.
  # 'newsgroups20,reuters_modapte' (ticket transfer between them).
  c.data.text.shared_vocabulary = ''
  c.data.text.cache_dir = ''         # '' -> $LTH_CACHE_DIR or ~/.cache/lth_jax

  c.training = ml_collections.ConfigDict()
  c.training.optimizer = 'adam'
  c.training.learning_rate = 1.2e-3
  c.training.momentum = 0.9
  c.training.nesterov = False
  c.training.weight_decay = 0.0
  c.training.schedule = 'constant'   # 'constant' | 'step' | 'cosine'
  c.training.warmup = '0it'
  c.training.milestones = ''         # e.g. '80ep,120ep'
  c.training.gamma = 0.1
  c.training.batch_size = 60
  c.training.steps = '50000it'
  c.training.eval_every = '100it'
  c.training.eval_batch_size = 1000
  # Test set at every evaluation, or (False) only where the validation loss
  # reaches a new minimum and at the end: enough for the early-stop metric.
  c.training.test_every_eval = False
  # Stop a replicate after this many evaluations without a new minimum of
  # the validation loss (0: train for training.steps).
  c.training.early_stop_patience = 0

  c.pruning = ml_collections.ConfigDict()
  c.pruning.strategy = 'layerwise'   # see lottery.strategies.all_strategy_names()
  c.pruning.levels = 15
  c.pruning.rate = 0.2
  c.pruning.layer_rates = 'output/=0.1'   # 'regex=rate,...', first match
  c.pruning.prunable = r'(^|/)(kernel|weight|w)(/value)?$'
  c.pruning.rewind = 'init'          # 'init' | 'step' | 'lr' | 'finetune'
  c.pruning.rewind_step = '0it'
  c.pruning.nm_n = 2
  c.pruning.nm_m = 4
  c.pruning.channel_norm = 'l2'   # 'l1' | 'l2' (strategy 'channel')

  c.checkpoint_every = '1000it'      # '0it': only at level ends
  c.progress = True
  c.tensorboard = True               # TensorBoard events beside metrics
  c.sweep = ml_collections.ConfigDict()
  c.sweep.strategy = 'auto'  # 'auto' | 'serial' | 'vmap' | 'map' | 'spread' | 'shard'
  return c


def flatten(config: Any, prefix: str = '') -> dict[str, Any]:
  """``{'training.steps': '50000it', ...}`` for a (nested) ConfigDict."""
  out = {}
  items = config.items() if hasattr(config, 'items') else []
  for key, value in items:
    name = f'{prefix}{key}'
    if isinstance(value, (ml_collections.ConfigDict, dict)) and name != (
        'model_kwargs'):
      out.update(flatten(value, name + '.'))
    elif isinstance(value, (ml_collections.ConfigDict, dict)):
      out[name] = json.loads(json.dumps(
          value.to_dict() if hasattr(value, 'to_dict') else value))
    else:
      out[name] = list(value) if isinstance(value, tuple) else value
  return out


def check_known_fields(config: Any) -> None:
  """Raises on any field that is not in the schema, suggesting the closest."""
  known = flatten(default_config())
  for name in flatten(config):
    if name not in known:
      close = difflib.get_close_matches(name, list(known), n=1)
      hint = f" Did you mean '{close[0]}'?" if close else ''
      raise errors.ConfigError(
          f"unknown config field '{name}'.{hint} All fields are "
          'listed in lth_jax.lottery.default_config().')


def is_non_semantic(field: str) -> bool:
  """Whether ``field`` (or a group containing it) is in ``NON_SEMANTIC``."""
  return any(field == f or field.startswith(f + '.') for f in NON_SEMANTIC)


def run_dir(config: ml_collections.ConfigDict, workdir: Any) -> pathlib.Path:
  """Where ``config``'s run lives: ``workdir/<run-hash>`` (``RunLayout``)."""
  return layout.RunLayout.of(workdir, run_hash(config)).run_dir


def run_hash(config: Any) -> str:
  """Hash of the result-changing fields that differ from the defaults."""
  defaults = flatten(default_config())
  diff = {k: v for k, v in flatten(config).items()
          if not is_non_semantic(k) and defaults.get(k) != v}
  blob = json.dumps(diff, sort_keys=True, default=str)
  return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _positive_int(value: Any, name: str) -> None:
  if isinstance(value, bool) or not isinstance(value, int) or value < 1:
    raise errors.ConfigError(
        f'{name} must be a positive integer, got {value!r}.')


def validate(config: Any) -> None:
  """Checks every field before any work starts; raises ``ValueError``."""
  check_known_fields(config)
  if config.model not in models.all_model_names():
    models.get_model(config.model)  # raises, listing the known names
  data.registry.check_dataset_name(config.data.name)
  text_lib.shared_corpora(config.data.text.shared_vocabulary,
                          config.data.name)
  if config.data.source not in tfds_source.SOURCES:
    raise errors.ConfigError(
        f'unknown data.source {config.data.source!r}; known: '
        f'{", ".join(tfds_source.SOURCES)}.')
  augment_lib.get_augmentation(config.data.augment)
  _positive_int(config.replicates, 'replicates')
  _positive_int(config.training.batch_size, 'training.batch_size')
  _positive_int(config.training.eval_batch_size, 'training.eval_batch_size')
  patience = config.training.early_stop_patience
  if isinstance(patience, bool) or not isinstance(patience, int) or (
      patience < 0):
    raise errors.ConfigError(
        'training.early_stop_patience must be an integer >= 0 '
        f'(evaluations; 0 turns early stopping off), got '
        f'{patience!r}.')
  if isinstance(config.seed, bool) or not isinstance(config.seed, int):
    raise errors.ConfigError(f'seed must be an integer, got {config.seed!r}.')
  if (isinstance(config.pruning.levels, bool)
      or not isinstance(config.pruning.levels, int)
      or config.pruning.levels < 0):
    raise errors.ConfigError('pruning.levels must be an integer >= 0, got '
                     f'{config.pruning.levels!r}.')
  t = config.training
  if t.optimizer not in optimizers.OPTIMIZERS:
    raise errors.ConfigError(f'unknown optimizer {t.optimizer!r}; known: '
                     f'{optimizers.OPTIMIZERS}.')
  if t.schedule not in optimizers.SCHEDULES:
    raise errors.ConfigError(f'unknown learning-rate schedule {t.schedule!r}; '
                     f'known: {optimizers.SCHEDULES}.')
  if not 0 < t.learning_rate < float('inf'):
    raise errors.ConfigError(
        f'training.learning_rate must be a finite number > 0, '
        f'got {t.learning_rate!r}.')
  for name in ('weight_decay', 'momentum'):
    if not 0 <= t[name] < 1:
      raise errors.ConfigError(
          f'training.{name} must be in [0, 1), got {t[name]!r}.')
  # Epoch-free checks of the durations (epochs are resolved with the data).
  spe = 1
  steps = durations.parse_duration(t.steps, spe, 'training.steps')
  durations.parse_duration(t.eval_every, spe, 'training.eval_every')
  durations.parse_duration(t.warmup, spe, 'training.warmup', allow_zero=True)
  durations.parse_duration_list(t.milestones, spe, 'training.milestones')
  durations.parse_duration(config.checkpoint_every, spe, 'checkpoint_every',
                           allow_zero=True)
  p = config.pruning
  strategies.get_strategy(p.strategy)
  pruning.check_rate(p.rate, 'pruning.rate')
  strategies.parse_layer_rates(p.layer_rates, p.rate)
  try:
    re.compile(p.prunable)
  except re.error as e:
    raise errors.ConfigError(
        f'pruning.prunable {p.prunable!r} is not a valid regex: '
        f'{e}.') from e
  if p.rewind not in REWIND_MODES:
    raise errors.ConfigError(f'unknown pruning.rewind {p.rewind!r}; known: '
                     f'{REWIND_MODES}.')
  rewind_step = durations.parse_duration(p.rewind_step, spe,
                                         'pruning.rewind_step',
                                         allow_zero=True)
  if p.rewind == 'step' and rewind_step == 0:
    raise errors.ConfigError(
        "pruning.rewind='step' needs pruning.rewind_step > 0 "
        "(e.g. '500it'); to rewind to initialisation use "
        "pruning.rewind='init'.")
  if p.rewind == 'step' and rewind_step >= steps and 'ep' not in str(
      t.steps) + str(p.rewind_step):
    raise errors.ConfigError(
        f'pruning.rewind_step ({p.rewind_step}) must be before '
        f'the end of training ({t.steps}).')
  replicates_lib.check_strategy_name(config.sweep.strategy)
