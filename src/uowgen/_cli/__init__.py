"""The command line: a thin layer over the engine."""

from uowgen._cli.commands import app, main

__all__ = ["app", "main"]
