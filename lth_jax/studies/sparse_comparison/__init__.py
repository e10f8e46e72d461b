"""Tickets against the rest of sparse training, on one model and budget.

``schema`` (the config), ``flops`` (training cost in FLOPs), ``starts``
(each method's start states), ``runner`` (trains every method through the
engine, writes one record per method, distribution, density and
replicate) and ``report`` (table and figures).
"""
