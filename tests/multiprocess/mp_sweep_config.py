"""The tiny sweep the multi-process tests run (4 replicates, 1 level)."""
from conftest import tiny_config

REPLICATES, LEVELS = 4, 1


def sweep_config():
  """One pruned level after the dense one, 20 steps each, eval every 10."""
  return tiny_config(levels=LEVELS, steps='20it', replicates=REPLICATES,
                     training__eval_every='10it', checkpoint_every='10it')
