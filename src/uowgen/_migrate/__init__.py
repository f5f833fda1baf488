"""Migrations: pair renames, diff two schemas, write the revision file."""
