"""Exporting a level of a lottery run as a ticket, and loading it into Flax.

``export_level`` reads a finished level of a run directory (its masks and
its trained weights, or the weights it rewound to) and writes a ticket
file; ``to_flax`` loads a ticket into its registered Flax model as dense
params, checked against the model's own parameter shapes.
"""
import os
import pathlib
from typing import Any

import jax
import jax.numpy as jnp

from lth_jax import errors
from lth_jax import models
from lth_jax.export import ticket as ticket_lib
from lth_jax.runs import layout
from lth_jax.runs import storage

WEIGHTS = ('trained', 'init')


def export_level(run_dir: str | os.PathLike, replicate: int, level: int,
                 out: str | os.PathLike, *, weights: str = 'trained',
                 branch: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> int:
  """Writes the ticket of one level of a run; returns the file's bytes.

  Args:
    run_dir: ``workdir/<run-hash>`` (holds ``config.json``).
    replicate: the replicate.
    level: the level (its ``masks`` and, for ``weights='trained'``, its
      ``trained`` tree).
    out: the ticket file to write.
    weights: ``'trained'`` (the level's trained weights) or ``'init'`` (the
      replicate's init: the winning ticket before training, for
      ``rewind='init'`` runs).
    branch: a control's name, or None for the trunk.
    input_shape: one example's shape (stored, so ``to_flax`` can check the
      params against the model).
  """
  if weights not in WEIGHTS:
    raise errors.InputError(f'unknown weights {weights!r}; known: {WEIGHTS}.')
  run_dir = pathlib.Path(run_dir)
  config = storage.read_json(run_dir / layout.CONFIG)
  d = storage.level_dir(run_dir, replicate, level, branch)
  masks = storage.load_tree(d / layout.MASKS)
  source = (d / layout.TRAINED if weights == 'trained'
            else storage.replicate_dir(run_dir, replicate) / layout.INIT)
  variables = storage.load_tree(source)
  variables = {k: v for k, v in variables.items() if v is not None and (
      jax.tree.leaves(v))}
  meta = {'run': run_dir.name, 'replicate': replicate, 'level': level,
          'branch': branch, 'weights': weights, 'run_config': config,
          'input_shape': list(input_shape) if input_shape else None}
  return ticket_lib.save_ticket(
      out, variables, masks, model=config['model'],
      model_kwargs=config.get('model_kwargs') or {}, config=meta)


def to_flax(t: ticket_lib.Ticket) -> tuple[Any, dict[str, Any]]:
  """The ticket's Flax model and its dense (masked) variables.

  Where the ticket records ``input_shape``, every leaf is checked against
  the model's own variables (``jax.eval_shape`` of ``model.init``).

  Raises:
    ValueError: a leaf's path, shape or dtype differs from the model's.
  """
  kwargs = {k: tuple(v) if isinstance(v, list) else v
            for k, v in t.model_kwargs.items()}
  model = models.get_model(t.model, **kwargs)
  variables = jax.tree.map(jnp.asarray, t.dense())
  shape = t.config.get('input_shape')
  if shape:
    want = jax.eval_shape(model.init, jax.random.key(0),
                          jnp.zeros((1, *shape), jnp.float32))
    want_flat = ticket_lib.flat_paths(want)
    got_flat = ticket_lib.flat_paths(variables)
    if set(want_flat) != set(got_flat):
      raise errors.InputError(f'the ticket holds {sorted(got_flat)} but model '
                       f'{t.model!r} has {sorted(want_flat)}.')
    for path, w in want_flat.items():
      g = got_flat[path]
      if g.shape != w.shape or g.dtype != w.dtype:
        raise errors.InputError(
            f'{path!r} is {g.dtype}{g.shape} in the ticket, '
            f'{w.dtype}{w.shape} in model {t.model!r}.')
  return model, variables
