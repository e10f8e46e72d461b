"""Supermasks: untrained (Zhou et al. 2019) and learned (edge-popup,
Bernoulli) masks against the trunk's tickets (``runner``, ``report``,
``plots``)."""
