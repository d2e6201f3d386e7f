"""Migration scripts, one per schema revision, linear and append-only."""
