"""The `uowgen` command line: the app, its commands in the order `--help` lists them.

The commands live by what they do: a project's life in `lifecycle`, the reports
in `reports`; what they share in `output`. These modules are the only ones that
print or exit.
"""

from __future__ import annotations

import typer

from uowgen._cli import lifecycle, reports
from uowgen._cli.output import SHORTHAND_EPILOG

app = typer.Typer(
    help="Generate FastAPI + SQLAlchemy (asyncio) projects with a sound unit of work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command()(lifecycle.new)
app.command()(lifecycle.validate)
app.command(epilog=SHORTHAND_EPILOG)(lifecycle.sync)
app.command()(lifecycle.update)
app.command("add-model", epilog=SHORTHAND_EPILOG)(lifecycle.add_model)
app.command("add-field", epilog=SHORTHAND_EPILOG)(lifecycle.add_field)
app.command("remove-model")(lifecycle.remove_model)
app.command("rename-field")(lifecycle.rename_field)
app.command("rename-model")(lifecycle.rename_model)
app.command()(reports.check)
app.command()(reports.doctor)


def main() -> None:
    """Entry point of the `uowgen` script."""
    app()
