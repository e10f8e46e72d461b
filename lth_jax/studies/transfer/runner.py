"""Ticket transfer (Morcos et al. 2019): a source trunk's tickets trained
on a target config (another data set, optimizer or schedule).

Transfer is a branch of a finished *source* trunk that trains under a
*target* config. At each chosen level ``L`` the source level's mask and
rewind weights (the init, or the step-k weights of late rewinding) are
transplanted into the target model; the output layer (``head``, a regex
over parameter paths) is re-initialised and re-shaped for the target's
classes, its mask dense or (``head_mask='pruned'``) randomly pruned to the
source head's kept fraction. Everything outside the head must have the same
paths and shapes on both sides, and the inputs the same shape; otherwise
the error names what differs. An empty ``head`` keeps the whole source
network (optimizer transfer on one data set).

Variants, all at the transferred mask's per-layer counts:

* ``ticket``: the transferred mask and weights (the transferred ticket);
* ``reinit``: the transferred mask on a fresh target init (does the mask
  or the init carry the transfer?);
* ``random``: a random mask with the same per-layer counts on the same
  fresh init (the random ticket).

The target's own ticket is the target trunk (``experiments.lottery`` on the
target config). Outputs go to ``<target-run>/replicate_<r>/
branch_transfer_<source-hash>[_<variant>]/level_<L>/`` under the workdir
given for the target; the source trunk is only read, never locked or
written.
"""
import json
import re
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections

from lth_jax import errors
from lth_jax import pruning
from lth_jax.lottery import branches
from lth_jax.lottery import config as config_lib
from lth_jax.lottery import imp
from lth_jax.lottery import jobs as jobs_lib
from lth_jax.runs import layout
from lth_jax.runs import storage
from lth_jax.studies.transfer import inputs as transfer_inputs
from lth_jax.studies.transfer import spec as spec_lib
from lth_jax.lottery.experiment import Experiment
from lth_jax.pruning import tree_paths
from lth_jax.training.progress import Progress

PyTree = Any

#: Source rewinding modes a ticket can be transferred from.
SOURCE_REWINDS = ('init', 'step')
#: Folded into a target replicate's control key for transfer randomness.
TRANSFER_SALT = 19
# The spec of a transfer, re-exported.
VARIANTS = spec_lib.VARIANTS
HEAD_MASKS = spec_lib.HEAD_MASKS
TransferSpec = spec_lib.TransferSpec
check_spec = spec_lib.check_spec
parse_spec = spec_lib.parse_spec


def in_head(path: str, head: str) -> bool:
  """Whether the leaf at ``path`` belongs to the re-initialised head.

  >>> in_head('output/kernel', r'^output/'), in_head('hidden_0/kernel', '')
  (True, False)
  """
  return bool(head) and re.search(head, path) is not None


def _flat(tree: PyTree) -> dict[str, Any]:
  flat, _ = jax.tree_util.tree_flatten_with_path(tree, is_leaf=pruning.masks.is_none)
  return {tree_paths.path_to_str(p): x for p, x in flat}


def transplant(source: PyTree, target: PyTree, head: str) -> PyTree:
  """``target``'s structure with every leaf outside ``head`` from ``source``.

  Head leaves (paths matching ``head``) keep ``target``'s values, so they
  may differ in shape (another number of classes). Works on params and
  on mask trees (``None`` leaves must agree outside the head).

  Args:
    source: the source tree (e.g. a trunk's rewind params or masks).
    target: a tree of the target model (a fresh init, or dense masks).
    head: regex of the head's paths (``''``: no head).

  Returns:
    The transplanted tree, shaped like ``target``.

  Raises:
    ValueError: naming the first leaf that is missing, extra, of another
      shape, or prunable on one side only.

  >>> t = transplant({'h': jnp.ones(2), 'output': jnp.ones(3)},
  ...                {'h': jnp.zeros(2), 'output': jnp.zeros(5)}, '^output')
  >>> t['h'].tolist(), t['output'].tolist()
  ([1.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0])
  """
  src = _flat(source)
  tgt = _flat(target)
  body = sorted(p for p in set(src) | set(tgt) if not in_head(p, head))
  for path in body:
    if path not in src or path not in tgt:
      side, other = ('source', 'target') if path not in src else (
          'target', 'source')
      raise errors.InputError(
          f'the {side} has no {path!r} but the {other} has: transfer needs '
          'the same model outside the head (head regex '
          f'{head!r}; set the same config.model and model_kwargs).')
    s, t = src[path], tgt[path]
    if (s is None) != (t is None):
      raise errors.InputError(
          f'{path!r} is prunable in the '
          f'{"target" if s is None else "source"} only: use the same '
          'config.pruning.prunable on both sides.')
    if s is not None and tuple(jnp.shape(s)) != tuple(jnp.shape(t)):
      raise errors.InputError(
          f'{path!r} is {tuple(jnp.shape(s))} in the source and '
          f'{tuple(jnp.shape(t))} in the target: transfer needs the same '
          'model and input shape outside the head (head regex '
          f'{head!r}).')
  return tree_paths.map_with_path(
      lambda p, t: t if in_head(p, head) or t is None else jnp.asarray(
          src[p], jnp.result_type(t)), target, is_leaf=pruning.masks.is_none)


def transplant_masks(source: PyTree, target_dense: PyTree, head: str,
                     head_mask: str, key: jax.Array) -> PyTree:
  """The source masks in the target model, with a dense or pruned head.

  Args:
    source: the source level's masks.
    target_dense: dense masks of the target model (``None`` = not pruned).
    head: regex of the head's paths.
    head_mask: ``'dense'``, or ``'pruned'``: each prunable head leaf keeps
      ``round(f * n)`` uniformly random weights of its ``n``, where ``f``
      is the kept fraction of the source leaf at the same path.
    key: randomness of a pruned head.

  Returns:
    Masks shaped like ``target_dense``.

  >>> m = transplant_masks({'h': jnp.array([True, False]),
  ...                       'output': jnp.array([True, False, False, False])},
  ...                      {'h': jnp.ones(2, bool),
  ...                       'output': jnp.ones(8, bool)},
  ...                      '^output', 'pruned', jax.random.key(0))
  >>> m['h'].tolist(), int(m['output'].sum())
  ([True, False], 2)
  """
  if head_mask not in HEAD_MASKS:
    raise errors.InputError(f'unknown head_mask {head_mask!r}; known: '
                     f'{", ".join(HEAD_MASKS)}.')
  masks = transplant(source, target_dense, head)
  if head_mask == 'dense':
    return masks
  src = _flat(source)

  def leaf(path, m):
    if m is None or not in_head(path, head):
      return m
    if src.get(path) is None:
      raise errors.InputError(f"head_mask='pruned' needs the source mask of "
                       f'{path!r}, which the source does not prune; use '
                       "head_mask='dense'.")
    fraction = float(jnp.mean(jnp.asarray(src[path], jnp.float32)))
    k = round(fraction * m.size)
    leaf_key = jax.random.fold_in(key, sum(map(ord, path)))
    return pruning.keep_top_k(jax.random.uniform(leaf_key, m.shape),
                                jnp.ones(m.shape, jnp.bool_), k)
  return tree_paths.map_with_path(leaf, masks, is_leaf=pruning.masks.is_none)


def branch_name(source_hash: str, variant: str,
                head_mask: str = 'dense') -> str:
  """The branch directory name (without ``branch_``) of a variant.

  >>> branch_name('5019b75555a6', 'ticket'), branch_name('ab', 'random',
  ...                                                    'pruned')
  ('transfer_5019b75555a6', 'transfer_ab_headpruned_random')
  """
  name = f'transfer_{source_hash}'
  if head_mask != 'dense':
    name += f'_head{head_mask}'
  return name if variant == 'ticket' else f'{name}_{variant}'


def level_variants(spec: TransferSpec, level: int) -> tuple[str, ...]:
  """The variants run at ``level`` (only the ticket at the dense level 0)."""
  return tuple(v for v in spec.variants if level > 0 or v == 'ticket')


def transfer_key(exp: Experiment, replicate: int, level: int) -> jax.Array:
  """The key of a target replicate's transfer randomness at one level."""
  return jax.random.fold_in(branches.control_key(exp, replicate, level),
                            TRANSFER_SALT)


def transfer_start(source: Experiment, target: Experiment, spec: TransferSpec,
                   variant: str, replicate: int, level: int) -> Any:
  """The target train state of one variant, replicate and level.

  The source level is read through ``branches.trunk_start`` (its rewind
  weights, masks and start step). ``reinit`` and ``random`` share one fresh
  target init, which also gives the ticket its re-initialised head. Every
  variant starts at the source's rewind step.
  """
  trunk = branches.trunk_start(source, replicate, level)
  key = transfer_key(target, replicate, level)
  fresh = target.init_variables(replicate, key=key)
  masks = transplant_masks(trunk.masks, target.dense_masks(fresh['params']),
                           spec.head, spec.head_mask,
                           jax.random.fold_in(key, 1))
  variables = fresh
  if variant == 'ticket':
    variables = {c: transplant(trunk.variables[c], fresh[c], spec.head)
                 for c in ('params', 'batch_stats')}
  elif variant == 'random':
    masks = pruning.random_like(jax.random.fold_in(key, 2), masks, 'layer')
  elif variant != 'reinit':
    raise errors.InputError(f'unknown transfer variant {variant!r}; known: '
                     f'{", ".join(VARIANTS)}.')
  return target.new_state(variables['params'], variables['batch_stats'],
                          masks, replicate, step=trunk.step)


def check_source(source: Experiment, target: Experiment,
                 spec: TransferSpec) -> None:
  """Checks the source trunk can be transferred to the target, reading only.

  Raises:
    ValueError: for another input shape, token ids of other vocabularies,
      a rewinding mode that has no
      start weights to transfer, a rewind step past the target's training,
      too few source replicates, or the target being the source.
    FileNotFoundError: if a needed source level (or init) is not finished.
  """
  check_spec(spec, source.config.pruning.levels)
  transfer_inputs.check_input_shapes(
      source.dataset.train_images.shape[1:],
      target.dataset.train_images.shape[1:], source.config.data.name,
      target.config.data.name)
  if jnp.issubdtype(source.dataset.train_images.dtype, jnp.integer):
    transfer_inputs.check_vocabularies(source.config, target.config)
  if source.run_dir.resolve() == target.run_dir.resolve():
    raise errors.InputError(
        f'the target run is the source run ({source.run_dir}): '
        'transfer needs another data set, optimizer or '
        'schedule (or another --target_workdir).')
  if source.config.pruning.rewind not in SOURCE_REWINDS:
    raise errors.InputError(
        f'the source trunk rewinds by {source.config.pruning.rewind!r}, '
        'which keeps trained weights: transfer a trunk rewound to '
        f"{' or '.join(SOURCE_REWINDS)} (late rewinding: pruning.rewind="
        "'step').")
  if source.rewind_step >= target.total_steps:
    raise errors.InputError(
        f"the source's rewind step {source.rewind_step} is not "
        f"before the end of the target's training "
        f'({target.total_steps} steps).')
  if source.config.replicates < target.config.replicates:
    raise errors.InputError(
        f'the target has {target.config.replicates} replicates '
        f'but the source config only {source.config.replicates}:'
        ' set the same replicates on both.')
  branches.check_trunk_done(source, spec.levels)
  for r in range(target.config.replicates):
    path = storage.init_dir(source.run_dir, r)
    if not storage.tree_exists(path):
      raise errors.MissingInputError(f'the source init {path} is missing: the '
                              'source trunk is not finished.')


def run_levels(source: Experiment, target: Experiment, spec: TransferSpec,
               progress: Progress | None = None) -> None:
  """Trains every missing (variant, replicate, level) of the transfer, in
  the order of ``spec.levels`` (put the levels that matter most first)."""
  for level in spec.levels:
    for variant in level_variants(spec, level):
      branch = branch_name(source.run_dir.name, variant, spec.head_mask)
      todo = [r for r in range(target.config.replicates)
              if not storage.level_done(target.run_dir, r, level, branch)]
      if not todo:
        continue
      jobs = [jobs_lib.Job(
          r, storage.level_dir(target.run_dir, r, level, branch),
          transfer_start(source, target, spec, variant, r, level), level,
          branch) for r in todo]
      jobs_lib.run(target, f'level {level}', jobs, progress=progress)


def write_source_record(source: Experiment, target: Experiment,
                        spec: TransferSpec) -> None:
  """Writes ``<target-run>/transfer_<source-hash>.json``: where from, how."""
  storage.write_text_atomic(
      layout.RunLayout(target.run_dir).transfer_record(
          source.run_dir.name), json.dumps({
          'source_run_dir': str(source.run_dir.resolve()),
          'source_hash': source.run_dir.name,
          'head': spec.head, 'head_mask': spec.head_mask,
          'source_config': config_lib.flatten(source.config)},
          indent=1, sort_keys=True, default=str) + '\n')


def run_transfer(source_config: ml_collections.ConfigDict,
                 source_workdir: str,
                 target_config: ml_collections.ConfigDict,
                 target_workdir: str, spec: TransferSpec,
                 source_dataset: Any = None, target_dataset: Any = None
                 ) -> list[dict[str, Any]]:
  """Runs (or resumes) the transfer of a finished source trunk's tickets.

  Args:
    source_config: the source trunk's config (its run hash names it).
    source_workdir: the source trunk's ``--workdir``; only read.
    target_config: the config the tickets train under.
    target_workdir: where the target run directory (with the outputs) is:
      the target trunk's ``--workdir``, or a transfer directory of its own.
    spec: levels, variants and head handling.
    source_dataset, target_dataset: optional preloaded data sets (tests).

  Returns:
    The summaries of every transfer branch, sorted by level.

  Raises:
    ValueError: for a spec or pair that cannot transfer (the message says
      what differs).
    FileNotFoundError: if a source level is not finished.
  """
  check_spec(spec, source_config.pruning.levels)
  source = Experiment.setup(source_config, source_workdir, source_dataset)
  with imp.locked_experiment(target_config, target_workdir,
                             target_dataset) as target:
    check_source(source, target, spec)
    write_source_record(source, target, spec)
    run_levels(source, target, spec,
               Progress(enabled=target_config.progress))
  return sorted(
      (s for v in spec.variants for s in storage.collect(
          target.run_dir, branch_name(source.run_dir.name, v,
                                      spec.head_mask))),
      key=lambda s: (s['level'], s['branch'], s['replicate']))


def run(config: ml_collections.ConfigDict, workdir: str,
        target_workdir: str | None = None) -> list[dict[str, Any]]:
  """Runs a transfer config (``configs/transfer_lenet300.py``).

  Args:
    config: with ``source`` and ``target`` lottery configs and the
      ``transfer`` fields ``levels``, ``variants``, ``head``, ``head_mask``.
    workdir: the source trunk's ``--workdir``.
    target_workdir: where the target run (and the outputs) is; default
      ``workdir``.

  Returns:
    The transfer summaries (see ``run_transfer``).
  """
  t = config.transfer
  spec = parse_spec(t.levels, t.variants, t.head, t.head_mask)
  return run_transfer(config.source, workdir, config.target,
                      target_workdir or workdir, spec)
