"""Studies built on the lottery core, one folder each: its runner (on the
IMP trunk and the training engine), its config schema and its report.

Importing this package registers every study's branches (pruning-at-init
controls) with ``lth_jax.lottery.branches``.
"""
from lth_jax.studies import init_pruning  # registers its branches
