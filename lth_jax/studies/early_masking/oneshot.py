"""One-shot early masking: per target level, replicate and timing point
``t``, the mask prunes ``|w_t|`` of the dense run to the trunk's exact
per-layer counts at that level (``strategy(..., level=L)``)."""
import functools

from lth_jax.lottery import strategies
from lth_jax.runs import layout
from lth_jax.studies.early_masking import replay
from lth_jax.studies.early_masking import tickets as tickets_lib
from lth_jax.studies.early_masking import validation
from lth_jax.lottery.experiment import Experiment


def oneshot_tickets(exp: Experiment, p: validation.Plan
                    ) -> list[tickets_lib.Ticket]:
  """The one-shot tickets and their controls (masks saved as made)."""
  strategy = strategies.get_strategy(exp.config.pruning.strategy)
  tickets = []
  for level in p.levels:
    for r in range(exp.config.replicates):
      dense = exp.dense_masks(exp.init_variables(r)['params'])
      for label, step in replay.point_steps(p, exp, r).items():
        d = layout.RunLayout(exp.run_dir).early_masking.oneshot(
            level, r, label).path
        make = functools.partial(
            lambda r, step, level, dense: strategy(
                replay.load_capture(exp, r, step)['params'], dense,
                exp.config.pruning, level), r, step, level, dense)
        masks = tickets_lib.saved_masks(layout.JobDir(d).masks, dense,
                                        make)
        tickets.append(tickets_lib.Ticket(d, r, level, masks))
        control = tickets_lib.control_ticket(exp, r, level, masks)
        if control.out_dir not in {t.out_dir for t in tickets}:
          tickets.append(control)
  return tickets


