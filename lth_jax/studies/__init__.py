"""Studies: one folder each, holding its runner and report."""
