"""Early masking: tickets whose masks come from step ``t`` of training.

On an existing lottery trunk (its init, data order, rewinding and layout):

* **capture**: the trunk stores only init and trained weights, so its dense
  level 0 is replayed (same init, same data key) and the weights at every
  capture step are written as they are produced; the replay must end
  bit-identical to the trunk's level-0 trained weights (a strong check that
  the same training was replayed). A killed replay resumes from its
  checkpoints and ends the same.
* **one-shot**: for each target level ``L`` (the trunk level whose exact
  per-layer counts are nearest the target share), each replicate and each
  timing point ``t``, the mask prunes ``|w_t|`` with the trunk's strategy at
  ``level=L`` (exact counts) and the ticket trains from the rewind point.
* **iterative**: IMP where level ``L``'s mask comes from iteration ``t`` of
  level ``L - 1``'s training (``t`` absolute, or a fraction of that level's
  early-stop step snapped down to the evaluation grid).
* **control**: the ticket's start weights under a random mask with the same
  per-layer counts, keyed as the trunk's ``random_prune_layer`` branch (so
  with layer-wise pruning it is that branch's very mask).

Modules: ``validation`` (the ``Plan`` and bad-input errors), ``replay``
(the dense run and its captures), ``tickets`` (saved masks, the control,
training together), ``oneshot``, ``iterative``, ``driver`` (``run``).

All tickets of one experiment train together on the replicate axis (one
job per (seed, t)). Layout, under the trunk's run directory::

  early_masking/captures/replicate_<r>/step_<t>/       weights at step t
  early_masking/captures/replicate_<r>/replay.json     the bit-identity check
  early_masking/oneshot/level_<L>/replicate_<r>/t_<t>/ a level's files
  early_masking/iterative/<point>/replicate_<r>/level_<L>/
  early_masking/controls/replicate_<r>/level_<L>_<counts>/
  (or the trunk's replicate_<r>/branch_random_prune_layer/level_<L>/ where
  it is finished with the same mask)
"""
from lth_jax.studies.early_masking.driver import run
from lth_jax.studies.early_masking.iterative import iterative_controls
from lth_jax.studies.early_masking.iterative import iterative_dir
from lth_jax.studies.early_masking.iterative import iterative_levels
from lth_jax.studies.early_masking.iterative import source_step
from lth_jax.studies.early_masking.oneshot import oneshot_tickets
from lth_jax.studies.early_masking.replay import capture
from lth_jax.studies.early_masking.replay import capture_dir
from lth_jax.studies.early_masking.replay import capture_steps
from lth_jax.studies.early_masking.replay import dense_summary
from lth_jax.studies.early_masking.replay import em_dir
from lth_jax.studies.early_masking.replay import em_layout
from lth_jax.studies.early_masking.replay import ensure_dense
from lth_jax.studies.early_masking.replay import load_capture
from lth_jax.studies.early_masking.replay import point_steps
from lth_jax.studies.early_masking.replay import progress
from lth_jax.studies.early_masking.replay import variables_of
from lth_jax.studies.early_masking.tickets import CONTROL_BRANCH
from lth_jax.studies.early_masking.tickets import Ticket
from lth_jax.studies.early_masking.tickets import control_ticket
from lth_jax.studies.early_masking.tickets import counts_tag
from lth_jax.studies.early_masking.tickets import rewind_start
from lth_jax.studies.early_masking.tickets import saved_masks
from lth_jax.studies.early_masking.tickets import train_tickets
from lth_jax.studies.early_masking.validation import EARLY_STOP
from lth_jax.studies.early_masking.validation import MODES
from lth_jax.studies.early_masking.validation import Plan
from lth_jax.studies.early_masking.validation import TIMINGS
from lth_jax.studies.early_masking.validation import check_trunk_config
from lth_jax.studies.early_masking.validation import doubling_points
from lth_jax.studies.early_masking.validation import layer_counts
from lth_jax.studies.early_masking.validation import parse_floats
from lth_jax.studies.early_masking.validation import plan
from lth_jax.studies.early_masking.validation import target_levels

__all__ = [
    'CONTROL_BRANCH',
    'EARLY_STOP',
    'MODES',
    'Plan',
    'TIMINGS',
    'Ticket',
    'capture',
    'capture_dir',
    'capture_steps',
    'check_trunk_config',
    'control_ticket',
    'counts_tag',
    'dense_summary',
    'doubling_points',
    'em_dir',
    'em_layout',
    'ensure_dense',
    'iterative_controls',
    'iterative_dir',
    'iterative_levels',
    'layer_counts',
    'load_capture',
    'oneshot_tickets',
    'parse_floats',
    'plan',
    'point_steps',
    'progress',
    'rewind_start',
    'run',
    'saved_masks',
    'source_step',
    'target_levels',
    'train_tickets',
    'variables_of',
]
