"""The randomness streams of a replicate: one number each, never shared.

Every random draw of a replicate comes from
``fold_in(fold_in(key(config.seed), replicate), stream)``; two studies that
folded the same number would draw correlated noise for the same replicate.
New studies add a member here (``tests/test_streams.py`` checks that the
numbers stay distinct).

>>> int(Stream.DATA)
1
"""
import enum


class Stream(enum.IntEnum):
  """The per-replicate randomness streams (values are fixed forever)."""
  INIT = 0          # initial weights
  DATA = 1          # data order and augmentation
  CONTROL = 2       # controls: random reinit, random prune, transfer, PaI
  INSTABILITY = 3   # data orders of linear-mode-connectivity copies
  SUPERMASK = 4     # supermask scores (was 3 before, colliding: see README)
