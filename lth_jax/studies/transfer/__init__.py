"""Tickets transferred across data sets and optimizers (``runner``,
``inputs``, ``report``)."""
