"""The HTTP layer: routes call services; no session or transaction in here."""
