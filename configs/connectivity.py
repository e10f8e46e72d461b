"""The ``connectivity`` group of an instability sweep config.

A sweep config has two groups: ``trunk``, the lottery config of the trunk
it reads (its run hash must match the trunk's), and ``connectivity``, the
sweep (``lth_jax.studies.connectivity.instability.SweepSpec`` and how it runs).
"""
import ml_collections

from lth_jax.analysis import connectivity as connectivity_lib


def sweep_config(trunk: ml_collections.ConfigDict, *,
                 rewind_steps: tuple[int, ...], levels: tuple[int, ...],
                 replicates: tuple[int, ...], pairs: int,
                 train_eval_examples: int = 10000,
                 eval_batch_size: int = 1000, eval_every: str = '1000it',
                 checkpoint_every: str = '1000it', group_size: int = 0,
                 steps: str = '') -> ml_collections.ConfigDict:
  """A sweep over ``trunk``; copies train on the replicate axis (vmap).

  Args:
    trunk: the trunk's config (``sweep.strategy`` is set to ``'vmap'``,
      which does not change its run hash).
    rewind_steps: the rewind iterations k, in the order they run.
    levels: trunk levels (0 = dense).
    replicates: trunk replicates (inits).
    pairs: data-order pairs per (k, level, replicate).
    train_eval_examples: training examples for the train error.
    eval_batch_size: the batch of path evaluations (x the 30 alphas).
    eval_every: the copies' evaluation period (validation curve only).
    checkpoint_every: the copies' checkpoint period.
    group_size: copies per compiled program (0: all copies of one k).
    steps: where the copies stop ('': the trunk's training length).
  """
  trunk.sweep.strategy = 'vmap'
  config = ml_collections.ConfigDict()
  config.trunk = trunk
  c = config.connectivity = ml_collections.ConfigDict()
  c.rewind_steps = tuple(rewind_steps)
  c.levels = tuple(levels)
  c.replicates = tuple(replicates)
  c.pairs = pairs
  c.num_alphas = connectivity_lib.NUM_ALPHAS
  c.threshold = connectivity_lib.STABILITY_THRESHOLD
  # Recomputed: interpolated running statistics do not describe the
  # interpolated network's activations (they mix two networks' statistics
  # and ignore how interpolation shrinks the activations' variance), which
  # inflates the barrier; recomputing on training batches is what a
  # network at that point would use. No effect on models without batch norm.
  c.batch_norm = 'recompute'
  c.train_eval_examples = train_eval_examples
  c.batch_norm_examples = 2048
  c.eval_batch_size = eval_batch_size
  c.eval_every = eval_every
  c.checkpoint_every = checkpoint_every
  c.group_size = group_size
  c.steps = steps
  return config
