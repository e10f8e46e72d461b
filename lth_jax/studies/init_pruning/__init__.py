"""Pruning at initialisation (SNIP, GraSP, SynFlow, ...) and its sanity
checks (Frankle et al. 2021) as branches of an IMP trunk (``runner``
registers them), with their report (``report``)."""
from lth_jax.studies.init_pruning import runner  # registers its branches
