"""Growing and updating a project: sync, update, merge, past releases, upgrade steps."""
