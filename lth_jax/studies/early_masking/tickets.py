"""Tickets of an early-masking run: masks saved as made, the random-prune
control, and training every unfinished ticket together.

A ticket is one job on the replicate axis (replicate = (seed, t)): its
output directory, its mask and its replicate. Every ticket trains from the
trunk's rewind point (init or step k).
"""
import dataclasses
import hashlib
import json
import pathlib
from typing import Any, Sequence

from lth_jax import pruning
from lth_jax.lottery import branches
from lth_jax.lottery import imp
from lth_jax.lottery import jobs as jobs_lib
from lth_jax.runs import layout
from lth_jax.runs import storage
from lth_jax.studies.early_masking import replay
from lth_jax.lottery.experiment import Experiment


def rewind_start(exp: Experiment, replicate: int
                 ) -> tuple[dict[str, Any], int]:
  """What tickets train from: the init, or the step-k weights."""
  init = exp.init_variables(replicate)
  target = imp.rewind_target(exp, replicate, 1, init)
  return target.variables, target.step


def counts_tag(masks: Any) -> str:
  """A short digest of a mask's per-layer counts (names control dirs)."""
  counts = [v['remaining'] for v in
            pruning.sparsity_report(masks)['layers'].values()]
  return hashlib.sha256(json.dumps(counts).encode()).hexdigest()[:8]


def saved_masks(path: pathlib.Path, like: Any, make) -> Any:
  """The masks at ``path``, or ``make()`` saved there first."""
  if storage.tree_exists(path):
    return storage.load_tree(path, like)
  masks = make()
  storage.save_tree(path, masks)
  return masks


@dataclasses.dataclass
class Ticket:
  """One job: where it writes, its mask and its replicate."""
  out_dir: pathlib.Path
  replicate: int
  level: int
  masks: Any


#: The trunk's branch whose masks the control reproduces.
CONTROL_BRANCH = 'random_prune_layer'


def control_ticket(exp: Experiment, replicate: int, level: int,
                   masks: Any) -> Ticket:
  """The random-prune control with ``masks``'s per-layer counts.

  Its key is the trunk's ``random_prune_layer`` key of that level, so with
  the same counts it is that branch's mask; where the branch level is
  finished with this very mask it is reused (never retrained).
  """
  key = branches.control_key(exp, replicate, level)
  dense = exp.dense_masks(exp.init_variables(replicate)['params'])
  branch = storage.level_dir(exp.run_dir, replicate, level, CONTROL_BRANCH)
  if storage.level_done(exp.run_dir, replicate, level, CONTROL_BRANCH):
    theirs = storage.load_tree(layout.JobDir(branch).masks, dense)
    mine = pruning.random_like(key, masks, 'layer')
    if pruning.hamming_distance(theirs, mine) == 0.0:
      return Ticket(branch, replicate, level, theirs)
  d = replay.em_layout(exp).control(replicate, level, counts_tag(masks))
  control = saved_masks(d.masks, dense,
                        lambda: pruning.random_like(key, masks, 'layer'))
  return Ticket(d.path, replicate, level, control)


def train_tickets(exp: Experiment, tickets: Sequence[Ticket], label: str
                  ) -> None:
  """Trains every unfinished ticket from the rewind point, all together."""
  todo = {t.out_dir: t for t in tickets
          if not layout.JobDir(t.out_dir).done()}
  if not todo:
    return
  jobs = []
  for t in todo.values():
    variables, step = rewind_start(exp, t.replicate)
    storage.save_tree_once(layout.JobDir(t.out_dir).masks, t.masks)
    jobs.append(jobs_lib.Job(t.replicate, t.out_dir, exp.new_state(
        variables['params'], variables['batch_stats'], t.masks, t.replicate,
        step=step), t.level))
  jobs_lib.run(exp, label, jobs, (), replay.progress(exp))


