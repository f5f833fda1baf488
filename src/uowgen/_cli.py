"""The `uowgen` command line: the only module that prints or exits."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from uowgen._engine import generate
from uowgen._spec import load_spec
from uowgen.errors import UowgenError

app = typer.Typer(
    help="Generate FastAPI + SQLAlchemy (asyncio) projects with a sound unit of work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SpecOption = Annotated[
    Path | None,
    typer.Option(
        "--spec",
        "-s",
        help="The model spec (YAML). Without it, uowgen asks (or uses --defaults).",
        dir_okay=False,
    ),
]


@contextlib.contextmanager
def _exit_on_user_error() -> Iterator[None]:
    """Print a user error in red and exit with its code; let bugs show tracebacks."""
    try:
        yield
    except UowgenError as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(exc.exit_code) from exc
    except KeyboardInterrupt:
        typer.secho("Stopped by user; nothing was written.", err=True)
        raise typer.Exit(130) from None


@app.command()
def new(
    dst: Annotated[Path, typer.Argument(help="Folder to create the project in.")],
    spec: SpecOption = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Take every default answer; ask nothing.")
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Render into a folder that is not empty."),
    ] = False,
) -> None:
    """Generate a new project into DST from a model spec."""
    with _exit_on_user_error():
        interactive = spec is None and not defaults
        if interactive and not sys.stdin.isatty():
            raise UowgenError(
                f"no spec for {dst}, and no terminal to ask the questions on; "
                "pass --spec FILE to render a spec, or --defaults to take the "
                "default answers"
            )
        project_spec = load_spec(spec) if spec is not None else None
        made = generate(project_spec, dst, overwrite=overwrite, interactive=interactive)
    files = sum(1 for path in made.rglob("*") if path.is_file())
    models = len(load_spec(made / "uowgen.yml").models)  # the spec the project keeps
    typer.secho(
        f"Created {made}: {models} model{'s' if models != 1 else ''}, {files} files",
        fg=typer.colors.GREEN,
    )
    steps = [
        (f"cd {dst}", ""),
        ("python -m venv .venv && .venv/bin/pip install -e '.[dev]'", "install"),
        (".venv/bin/alembic upgrade head", "create the SQLite schema"),
        (
            f".venv/bin/uvicorn --factory {_package_of(made)}.main:create_app",
            "serve http://127.0.0.1:8000/docs",
        ),
        (".venv/bin/pytest", "run the project's tests"),
    ]
    width = max(len(command) for command, _ in steps)
    typer.echo("\nNext steps:")
    for command, why in steps:
        typer.echo(f"  {command.ljust(width)}  # {why}" if why else f"  {command}")


@app.command()
def validate(
    spec: Annotated[Path, typer.Argument(help="The model spec (YAML) to check.")],
) -> None:
    """Check a model spec and report every problem; writes nothing."""
    with _exit_on_user_error():
        project_spec = load_spec(spec)
    count = len(project_spec.models)
    typer.echo(f"{spec}: valid ({count} model{'s' if count != 1 else ''})")


def _package_of(project: Path) -> str:
    packages = [p.parent.name for p in (project / "src").glob("*/__init__.py")]
    return packages[0] if packages else "app"


def main() -> None:
    """Entry point of the `uowgen` script."""
    app()
