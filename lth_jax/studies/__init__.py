"""Research studies: one folder each (its schema, runner and report)."""
