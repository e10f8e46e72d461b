"""Iterative early masking: IMP chains where level ``L``'s mask comes from
iteration ``t`` of level ``L - 1``'s training (``t`` absolute, or a fraction
of that level's early-stop step snapped down to the evaluation grid).

A chain level keeps its weights at every candidate step while it trains,
then only its mask source (``mask_source``, with ``mask_source.json``).
"""
import pathlib
from typing import Any

from lth_jax.lottery import captures
from lth_jax.lottery import jobs as jobs_lib
from lth_jax.runs import layout
from lth_jax.runs import storage
from lth_jax.lottery import strategies
from lth_jax.lottery import summaries
from lth_jax.studies.early_masking import replay
from lth_jax.studies.early_masking import tickets as tickets_lib
from lth_jax.studies.early_masking import validation
from lth_jax.lottery.experiment import Experiment


def iterative_dir(exp: Experiment, point: float, replicate: int,
                  level: int) -> pathlib.Path:
  return layout.RunLayout(exp.run_dir).early_masking.iterative(
      point, replicate, level).path


def source_step(p: validation.Plan, point: float,
                rows: list[dict[str, Any]]) -> int:
  """The step of a level whose weights make the next level's mask."""
  if p.iterative_timing == 'absolute':
    return int(point)
  stop = summaries.early_stop(rows)['step']
  grid = sorted(r['step'] for r in rows)
  return max(s for s in grid if s <= point * stop)


def iterative_levels(exp: Experiment, p: validation.Plan) -> None:
  """IMP chains, one per (replicate, point): level L's mask from step t of
  level L-1; each level of all chains trains together."""
  strategy = strategies.get_strategy(exp.config.pruning.strategy)
  for level in range(1, max(p.levels) + 1):
    tickets, hook_dirs = [], {}
    for point in p.iterative_points:
      for r in range(exp.config.replicates):
        d = iterative_dir(exp, point, r, level)
        if layout.JobDir(d).done():
          keep_source(exp, p, point,
                      tickets_lib.Ticket(d, r, level, None))
          continue
        dense = exp.dense_masks(exp.init_variables(r)['params'])

        def make(point=point, r=r, dense=dense):
          if level == 1:
            rows = storage.read_jsonl(
                layout.RunLayout(exp.run_dir).job(r, 0).metrics)
            source = replay.load_capture(exp, r,
                                         source_step(p, point, rows))
            prev = dense
          else:
            prev_dir = layout.JobDir(iterative_dir(exp, point, r, level - 1))
            source = storage.load_tree(prev_dir.file(layout.MASK_SOURCE),
                                       exp.init_variables(r))
            prev = storage.load_tree(prev_dir.masks, dense)
          return strategy(source['params'], prev, exp.config.pruning, level)

        tickets.append(tickets_lib.Ticket(
            d, r, level, tickets_lib.saved_masks(layout.JobDir(d).masks,
                                                 dense, make)))
        hook_dirs[d] = point
    if not tickets:
      continue
    if level < max(p.levels):
      train_capturing(exp, p, tickets, hook_dirs)
    else:
      tickets_lib.train_tickets(exp, tickets, f'level {level}')
    for t in tickets:
      keep_source(exp, p, hook_dirs[t.out_dir], t)


def train_capturing(exp: Experiment, p: validation.Plan,
                    tickets: list[tickets_lib.Ticket],
                    points: dict[pathlib.Path, float]) -> None:
  """Trains a chain level, keeping the weights at every candidate step."""
  absolute = p.iterative_timing == 'absolute'
  todo = [t for t in tickets if not layout.JobDir(t.out_dir).done()]
  if not todo:
    return
  jobs = []
  for t in todo:
    variables, step = tickets_lib.rewind_start(exp, t.replicate)
    if step == 0:
      storage.save_tree_once(layout.JobDir(t.out_dir).capture(0), variables)
    jobs.append(jobs_lib.Job(t.replicate, t.out_dir, exp.new_state(
        variables['params'], variables['batch_stats'], t.masks, t.replicate,
        step=step), t.level))

  def where(job, step):
    point = points[job.out_dir]
    keep = step == point if absolute else step % exp.eval_every == 0
    return job.files.capture(step) if keep else None

  steps = (tuple(sorted({int(x) for x in points.values()})) if absolute
           else tuple(range(exp.eval_every, exp.total_steps + 1,
                            exp.eval_every)))
  jobs_lib.run(exp, f'level {todo[0].level}', jobs,
               (captures.capture_at(jobs, steps, where),), replay.progress(exp))


def keep_source(exp: Experiment, p: validation.Plan, point: float,
                t: tickets_lib.Ticket) -> None:
  """Keeps the mask source of a finished chain level, drops the rest."""
  job = layout.JobDir(t.out_dir)
  src = job.file(layout.MASK_SOURCE)
  if storage.tree_exists(src) or not job.captures.exists():
    return
  rows = storage.read_jsonl(job.metrics)
  step = source_step(p, point, rows)
  tree = storage.load_tree(job.capture(step),
                           exp.init_variables(t.replicate))
  storage.save_tree(src, tree)
  storage.write_json(job.file(layout.MASK_SOURCE_RECORD), {'step': step})
  storage.remove(job.captures)


def iterative_controls(exp: Experiment, p: validation.Plan
                       ) -> list[tickets_lib.Ticket]:
  """Controls at each target level with the chains' per-layer counts."""
  out = []
  for level in p.levels:
    for r in range(exp.config.replicates):
      dense = exp.dense_masks(exp.init_variables(r)['params'])
      for point in p.iterative_points:
        masks = storage.load_tree(
            layout.JobDir(iterative_dir(exp, point, r, level)).masks, dense)
        c = tickets_lib.control_ticket(exp, r, level, masks)
        if c.out_dir not in {t.out_dir for t in out}:
          out.append(c)
  return out


