"""Services: each use case runs in short unit-of-work scopes and commits before returning."""
