"""The supermask study's config: its schema, checks and output hash.

``config.trunk`` is a lottery config (the trunk the study reads);
``config.supermask`` holds the study's fields (``default_section``). Every
check is in ``validate``, which raises ``errors.ConfigError`` naming the
field and the fix. List fields (``levels``, ``criteria``, ``kept``,
``pruned``, ``methods``, ``remaining``) are real lists or comma text,
read by ``config_lists``; both give the same output folder
(``section_hash``).
"""
import hashlib
import json
from typing import Any

import ml_collections

from lth_jax import config_lists
from lth_jax import errors
from lth_jax import streams
from lth_jax.lottery import config as config_lib
from lth_jax.pruning import criteria
from lth_jax.training import supermask_steps as sm

SUPERMASK_STREAM = streams.Stream.SUPERMASK


def listed(value: Any) -> list[str]:
  """The entries of a list field (a list, or comma text; '' is empty)."""
  return list(config_lists.items(value or None))


def _fail(field: str, value: Any, problem: str, fix: str) -> None:
  raise errors.ConfigError(
      f'supermask.{field}={value!r}: {problem}; {fix}.')


def _choices(s: ml_collections.ConfigDict, field: str, known: Any,
             what: str) -> None:
  for item in listed(s[field]):
    if item not in known:
      _fail(field, s[field], f'unknown {what} {item!r}',
            f'known: {", ".join(known)}')


def _steps(s: ml_collections.ConfigDict, field: str, minimum: int) -> None:
  value = s[field]
  if isinstance(value, bool) or not isinstance(value, int) or (
      value < minimum):
    _fail(field, value, f'not a number of steps >= {minimum}',
          'give an integer')


def default_section() -> ml_collections.ConfigDict:
  """The ``config.supermask`` fields (LeNet-300-100 / MNIST cpu values)."""
  c = ml_collections.ConfigDict()
  c.replicates = 2           # trunk replicates 0 .. n-1
  c.levels = '3,5,7,10'      # trunk levels giving the untrained counts
  c.source_level = 0         # trunk level whose init/trained weights score
  c.criteria = ''            # '' = all, plus imp_ticket
  c.kept = 'init,signed_constant,reshuffle,reinit'
  c.pruned = 'zero,frozen'
  c.methods = 'edge_popup,bernoulli'
  c.remaining = '0.1,0.3,0.5,0.7'
  c.steps = 3000
  c.batch_size = 128
  c.eval_every = 500
  c.checkpoint_every = 1000  # mid-run checkpoints (0: none); not hashed
  c.weight_init = 'signed_constant'
  c.rescale = True           # Bernoulli dynamic weight rescaling
  for method, lr in (('edge_popup', 0.5), ('bernoulli', 100.0)):
    o = ml_collections.ConfigDict()
    o.optimizer = 'sgd'
    o.learning_rate = lr
    o.momentum = 0.9
    o.weight_decay = 0.0
    o.schedule = 'cosine'
    c[method] = o
  return c


def validate(config: ml_collections.ConfigDict) -> None:
  """Checks the whole config once; raises ``ConfigError`` naming the
  field and the fix."""
  config_lib.validate(config.trunk)
  s = config.supermask
  _choices(s, 'criteria', criteria.all_criterion_names(), 'mask criterion')
  _choices(s, 'kept', criteria.KEPT_TREATMENTS, 'kept-weight treatment')
  _choices(s, 'pruned', criteria.PRUNED_TREATMENTS,
           'pruned-weight treatment')
  _choices(s, 'methods', sm.METHODS, 'supermask method')
  _choices(s, 'weight_init', sm.WEIGHT_INITS, 'frozen-weight init')
  for k in listed(s.remaining):
    try:
      criteria.check_remaining(float(k))
    except ValueError as e:
      _fail('remaining', s.remaining, str(e).rstrip('.'),
            'keep a fraction in (0, 1] of each layer')
  top = config.trunk.pruning.levels
  try:
    levels = [int(x) for x in listed(s.levels)]
  except ValueError:
    _fail('levels', s.levels, 'not a list of integers', 'e.g. 3,5,7')
  for field, values in (('levels', levels), ('source_level',
                                             [s.source_level])):
    for level in values:
      if not 0 <= level <= top:
        _fail(field, s[field], f'trunk level {level} is outside 0..{top} '
              '(config.trunk.pruning.levels)', 'pick levels the trunk has')
  if not 1 <= s.replicates <= config.trunk.replicates:
    _fail('replicates', s.replicates,
          f'not in 1..{config.trunk.replicates} (the trunk\'s replicates)',
          'use at most the trunk\'s replicates')
  _steps(s, 'steps', 1)
  _steps(s, 'eval_every', 1)
  _steps(s, 'batch_size', 1)
  _steps(s, 'checkpoint_every', 0)
  for method in listed(s.methods):
    o = s[method]
    try:
      sm.make_optimizer(o.learning_rate, s.steps, o.momentum,
                        o.weight_decay, o.schedule, o.optimizer)
    except ValueError as e:
      _fail(method, o.to_dict(), str(e).rstrip('.'),
            f'fix supermask.{method}')


#: Fields that choose what is computed, not how: results are cached per
#: item, so they do not name the output folder.
SELECTION_FIELDS = ('replicates', 'levels', 'criteria', 'kept', 'pruned',
                    'methods', 'remaining')
#: Fields that change how a run executes, never its results.
EXECUTION_FIELDS = ('checkpoint_every',)


def section_hash(config: ml_collections.ConfigDict) -> str:
  """A short hash of how supermasks are computed (names the output folder).

  The fields that only select what to compute (``SELECTION_FIELDS``) are
  left out: untrained rows and learned runs are cached one by one.
  """
  fields = {k: v for k, v in config.supermask.to_dict().items()
            if k not in SELECTION_FIELDS + EXECUTION_FIELDS}
  # The stream joined the hash when it moved from 3 to 4 (a collision
  # with the instability stream): new results go to new folders.
  fields['stream'] = int(SUPERMASK_STREAM)
  text = json.dumps(fields, sort_keys=True)
  return hashlib.sha256(text.encode()).hexdigest()[:8]
