"""`uowgen check`: one module per group of findings."""
