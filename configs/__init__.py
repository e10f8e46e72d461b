"""Experiment configs: ``get_config(arg)`` per file (ml_collections)."""
