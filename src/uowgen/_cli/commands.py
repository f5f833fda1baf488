"""The `uowgen` command line: the app, its commands in the order `--help` lists them.

The commands live by what they do: a project's life in `lifecycle`, the reports
in `reports`; what they share in `output`, how their help pages print in `help`.
These modules are the only ones that print or exit.
"""

from __future__ import annotations

from typing import Annotated

import typer

from uowgen._cli import lifecycle, reports
from uowgen._cli.help import MARKUP_MODE, UowgenCommand, UowgenGroup
from uowgen._cli.output import SHORTHAND_EPILOG
from uowgen._version import __version__

app = typer.Typer(
    cls=UowgenGroup,
    help="Generate FastAPI + SQLAlchemy (asyncio) projects with a sound unit of work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=MARKUP_MODE,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"uowgen {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Print uowgen's version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    # The app's own options (its help text is the Typer's `help`): `--version`
    # does its work in its callback, before any command runs.
    del version


app.command(cls=UowgenCommand)(lifecycle.new)
app.command(cls=UowgenCommand)(lifecycle.validate)
app.command(cls=UowgenCommand, epilog=SHORTHAND_EPILOG)(lifecycle.sync)
app.command(cls=UowgenCommand)(lifecycle.update)
app.command("add-model", cls=UowgenCommand, epilog=SHORTHAND_EPILOG)(
    lifecycle.add_model
)
app.command("add-field", cls=UowgenCommand, epilog=SHORTHAND_EPILOG)(
    lifecycle.add_field
)
app.command("remove-model", cls=UowgenCommand)(lifecycle.remove_model)
app.command("rename-field", cls=UowgenCommand)(lifecycle.rename_field)
app.command("rename-model", cls=UowgenCommand)(lifecycle.rename_model)
app.command(cls=UowgenCommand)(reports.check)
app.command(cls=UowgenCommand)(reports.doctor)


def main() -> None:
    """Entry point of the `uowgen` script."""
    app()
