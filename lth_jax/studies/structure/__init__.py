"""The structure of tickets on two independent tasks: per level, whether
the mask splits into one subnetwork per task (``runner``, ``levels``,
``plots``; the graph analysis itself is ``lth_jax.analysis.structure``)."""
