"""The schema: names, the per-type table, and a spec's tables computed once."""
