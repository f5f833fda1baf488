"""Repositories: queries per model; they flush but never commit."""
