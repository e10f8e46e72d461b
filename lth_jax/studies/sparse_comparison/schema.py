"""The sparse-comparison config: a lottery trunk plus the study's fields.

``config.trunk`` is a lottery config (``lth_jax.lottery.default_config``):
the model, data, optimizer, training length ``T`` and the IMP trunk
(rate, levels, rewinding). ``config.study`` holds:

* ``methods``: comma-separated ``name`` or ``name:distribution``, from
  ``METHODS`` (``imp`` is the trunk itself);
* ``densities``: comma-separated fractions of prunable weights kept;
* ``finetune_steps``: the fine-tuning after one-shot pruning;
* ``update_every``, ``drop_fraction``, ``stop_fraction``: SET/RigL;
* ``calibration_size``: training examples Wanda/SparseGPT see.
"""
import hashlib
import json
from typing import NamedTuple

import ml_collections

from lth_jax import config_lists
from lth_jax import errors
from lth_jax.pruning import distributions

#: method -> (kind, default distribution). Kinds: ``init`` (pruned at
#: initialisation, trained ``T`` steps), ``dst`` (SET/RigL for ``T``
#: steps), ``oneshot`` (pruned after dense training, then fine-tuned),
#: ``imp`` (the trunk's levels).
METHODS = {
    'imp': ('imp', 'trunk'),
    'random': ('init', 'uniform'),
    'snip': ('init', 'global'),
    'synflow': ('init', 'global'),
    'set': ('dst', 'erk'),
    'rigl': ('dst', 'erk'),
    'magnitude': ('oneshot', 'uniform'),
    'wanda': ('oneshot', 'uniform'),
    'sparsegpt': ('oneshot', 'uniform'),
}
#: ``global``: one threshold over all layers (the method's own choice).
DISTRIBUTIONS = distributions.DISTRIBUTIONS + ('global',)


class Method(NamedTuple):
  """One compared method: ``name``, its ``kind`` and ``distribution``."""
  name: str
  kind: str
  distribution: str

  @property
  def label(self) -> str:
    return (self.name if self.kind == 'imp'
            else f'{self.name}:{self.distribution}')


def default_study() -> ml_collections.ConfigDict:
  """The study's fields with the published defaults."""
  s = ml_collections.ConfigDict()
  s.methods = ('imp,random:uniform,random:erk,snip,synflow,set:erk,'
               'set:uniform,rigl:erk,rigl:uniform,magnitude:uniform,'
               'magnitude:erk,magnitude:global,wanda:uniform,wanda:erk,'
               'sparsegpt:uniform,sparsegpt:erk')
  # The densities: IMP levels 3, 7, 10, 13, 17 at 1 - 10^-0.1.
  s.densities = '0.5,0.2,0.1,0.05,0.02'
  s.finetune_steps = '1000it'
  s.update_every = 100
  s.drop_fraction = 0.3
  s.stop_fraction = 0.75
  s.calibration_size = 128
  return s


#: The fields that change a job's result (not which jobs run): their hash
#: names the study's folder, so runs that differ in them never mix.
JOB_FIELDS = ('finetune_steps', 'update_every', 'drop_fraction',
              'stop_fraction', 'calibration_size')


def study_tag(study: ml_collections.ConfigDict) -> str:
  """Hash of ``JOB_FIELDS`` (``methods`` and ``densities`` add jobs).

  >>> s = default_study()
  >>> a = study_tag(s); s.densities = '0.5'; b = study_tag(s)
  >>> s.calibration_size = 2048
  >>> a == b, a == study_tag(s)
  (True, False)
  """
  blob = json.dumps({k: study[k] for k in JOB_FIELDS}, sort_keys=True)
  return hashlib.sha256(blob.encode()).hexdigest()[:10]


def parse_methods(spec: str) -> list[Method]:
  """``'rigl:erk,wanda'`` -> ``[Method('rigl', 'dst', 'erk'), ...]``.

  >>> [m.label for m in parse_methods('rigl:uniform, wanda, imp')]
  ['rigl:uniform', 'wanda:uniform', 'imp']
  """
  out = []
  for item in filter(None, (s.strip() for s in spec.split(','))):
    name, _, dist = item.partition(':')
    if name not in METHODS:
      raise errors.InputError(
          f'unknown method {name!r} in study.methods; known: '
          f'{", ".join(sorted(METHODS))}.')
    kind, default = METHODS[name]
    dist = dist or default
    allowed = {'imp': ('trunk',), 'dst': distributions.DISTRIBUTIONS,
               'init': DISTRIBUTIONS, 'oneshot': DISTRIBUTIONS}[kind]
    if name == 'wanda':
      allowed = distributions.DISTRIBUTIONS  # compared per output unit
    if dist not in allowed:
      raise errors.InputError(f'method {name!r} takes a distribution in '
                       f'{", ".join(allowed)}, got {dist!r}.')
    out.append(Method(name, kind, dist))
  if len({m.label for m in out}) != len(out):
    raise errors.InputError(f'study.methods {spec!r} lists a method twice.')
  return out


def parse_densities(spec: str) -> list[float]:
  """``'0.5,0.1'`` -> ``[0.5, 0.1]``; each in (0, 1).

  >>> parse_densities('0.5, 0.02')
  [0.5, 0.02]
  """
  try:
    out = list(config_lists.items(spec, float))
  except ValueError as e:
    raise errors.InputError(f'study.densities {spec!r} must be comma-separated '
                     'fractions, e.g. 0.5,0.2,0.1.') from e
  bad = [d for d in out if not 0.0 < d < 1.0]
  if bad or not out:
    raise errors.InputError(
        f'study.densities {bad or spec!r} must be in (0, 1): '
        'the fraction of prunable weights kept.')
  return out


def validate(config: ml_collections.ConfigDict) -> None:
  """Checks the study fields (the trunk is checked by the lottery)."""
  s = config.study
  parse_methods(s.methods)
  parse_densities(s.densities)
  if s.update_every < 1 or not 0.0 <= s.drop_fraction < 1.0 or not (
      0.0 < s.stop_fraction <= 1.0):
    raise errors.InputError('study.update_every must be >= 1, drop_fraction in '
                     '[0, 1) and stop_fraction in (0, 1].')
  if s.calibration_size < 1:
    raise errors.InputError('study.calibration_size must be >= 1.')
