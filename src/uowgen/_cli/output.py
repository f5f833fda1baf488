"""What the commands share: their options, user errors, prompts, a plan's printing."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from uowgen._evolve.project import CONFLICTS_FILE
from uowgen._render.answers import ANSWERS_FILE
from uowgen._spec.models import ProjectSpec
from uowgen._spec.shorthand import HELP as SHORTHAND_HELP
from uowgen._spec.shorthand import ShorthandError, parse_field
from uowgen._spec.validate import parse_spec, spec_problems
from uowgen.errors import SpecError, UowgenError

if TYPE_CHECKING:
    from uowgen._evolve.sync import SyncPlan

# The shorthand's grammar under the help of the commands that take fields (its
# brackets print as written: `uowgen._cli.help` escapes every help text).
SHORTHAND_EPILOG = SHORTHAND_HELP

SpecOption = Annotated[
    Path | None,
    typer.Option(
        "--spec",
        "-s",
        help="The model spec (YAML). Without it, uowgen asks (or uses --defaults).",
        dir_okay=False,
    ),
]
ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-p",
        help="The project folder (default: found from the current folder upwards).",
        file_okay=False,
    ),
]
PretendOption = Annotated[
    bool,
    typer.Option("--pretend", help="Print the diff it would apply; write nothing."),
]
AllowDirtyOption = Annotated[
    bool,
    typer.Option(
        "--allow-dirty",
        help="Write over files with uncommitted changes (git cannot undo that).",
    ),
]
FieldsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="Fields in shorthand: name:type[?][:modifier...][=default].",
        show_default=False,
    ),
]
FromOption = Annotated[
    Path | None,
    typer.Option(
        "--from",
        help="A YAML file with more fields, in the spec format (a `fields:` list).",
        dir_okay=False,
    ),
]


# A message that already names what to run next: a command in backticks, or an
# option of the command (`--project`, `--from`...).
_NAMES_A_STEP = re.compile(r"`(?:uowgen|pip|git|alembic|python)\b|(?<![\w-])--[a-z]")
# An option that opens a message is where the problem is, not a next step.
_LEADING_OPTION = re.compile(r"^--[\w-]+[^:]*:")
# How an engine message that cannot know the command says "run it again".
_AGAIN = "run the command again"


@contextlib.contextmanager
def exit_on_user_error(command: str) -> Iterator[None]:
    """Print a user error in red and exit with its code; let bugs show tracebacks.

    Args:
        command: The command running (`sync`, `add-field`...): an error that does
            not say what to run next ends with it (`next_step`).
    """
    try:
        yield
    except UowgenError as exc:
        typer.secho(next_step(exc, command), fg=typer.colors.RED, err=True)
        raise typer.Exit(exc.exit_code) from exc
    except KeyboardInterrupt:
        typer.secho("Stopped by user; nothing was written.", err=True)
        raise typer.Exit(130) from None


def next_step(exc: UowgenError, command: str) -> str:
    """The error's message, ending with what to run next (docs/errors.md).

    What went wrong and where are the engine's words; the engine, which does not
    know the command, says "run the command again", made `uowgen <command>` here.
    An invalid spec ends with `uowgen validate` on its file (or the file to
    restore), bad field shorthand with the help that shows the grammar, and any
    other message that names no command or option with `uowgen <command>` again.
    """
    message = exc.message.replace(_AGAIN, f"run `uowgen {command}` again")
    if isinstance(exc, SpecError):
        return f"{message}\n{_spec_next_step(exc.source, command)}"
    if isinstance(exc, ShorthandError):
        return (
            f"{message}\nthe field shorthand, with examples: `uowgen {command} --help`"
        )
    if _NAMES_A_STEP.search(_LEADING_OPTION.sub("", message)):
        return message
    return f"{message}\nfix that, then run `uowgen {command}` again"


def _spec_next_step(source: str, command: str) -> str:
    if source.endswith("(as changed)"):  # the command's own edit of uowgen.yml
        return (
            f"nothing was written: run `uowgen {command}` again with other values "
            f"(`uowgen {command} --help` shows them)"
        )
    if source.endswith(ANSWERS_FILE):  # the spec the project recorded
        return (
            f"restore {ANSWERS_FILE} from git (`git checkout -- {ANSWERS_FILE}`), "
            f"then run `uowgen {command}` again"
        )
    if command == "validate":
        return f"fix them, then run `uowgen validate {source}` again"
    return (
        f"fix {source} (`uowgen validate {source}` lists every problem), then run "
        f"`uowgen {command}` again"
    )


def ask_spec() -> ProjectSpec:
    """Ask for a spec in a terminal: the project, then model by model."""
    project_name = typer.prompt("Project name", default="My App")
    typer.echo(
        "Models: a name (PascalCase), then its fields in shorthand, one a line "
        "(e.g. email:str:unique, owner:ref:User); an empty name ends.\n"
        + SHORTHAND_HELP.split("\n\n")[0]
    )
    models: list[dict[str, Any]] = []
    while True:
        name = typer.prompt("Model name", default="", show_default=False).strip()
        if not name:
            if models:
                break
            typer.secho("  a project needs at least one model", fg=typer.colors.RED)
            continue
        model = {"name": name, "fields": ask_fields(name)}
        data = {"project_name": project_name, "models": [*models, model]}
        # Check each model as it is given, with the validator's own messages; a
        # ref to a model still to come is fine for now.
        problems = [
            problem
            for problem in spec_problems(data)
            if "refers to unknown model" not in problem
        ]
        if problems:
            typer.secho(
                "\n".join(f"  {problem}" for problem in problems), fg=typer.colors.RED
            )
            typer.echo(f"  {name} was not added; give it again")
            continue
        models.append(model)
    admin = typer.confirm(
        "Add an admin dashboard at /admin (a view per model, behind a login)?",
        default=False,
    )
    spec: dict[str, Any] = {"project_name": project_name, "models": models}
    if admin:
        spec["admin"] = True
    while True:
        auth = _ask_auth([model["name"] for model in models])
        if auth is None:
            break
        problems = spec_problems({**spec, "auth": auth})
        if not problems:
            spec["auth"] = auth
            break
        # The user model may not fit registration (no unique email): say why, and
        # ask again rather than lose the models given.
        typer.secho("\n".join(f"  {p}" for p in problems), fg=typer.colors.RED)
        typer.echo("  auth was not added; answer its questions again")
    return parse_spec(spec)


def _ask_auth(models: list[str]) -> dict[str, Any] | None:
    """Ask whether the API needs bearer tokens, and for the user model if so."""
    if not typer.confirm(
        "Require bearer tokens of an OpenID Connect provider (Keycloak...) on the API?",
        default=False,
    ):
        return None
    auth: dict[str, Any] = {"provider": "oidc"}
    typer.echo(f"  The models: {', '.join(models)}")
    while True:
        user = typer.prompt(
            "  The model whose rows are the tokens' users (empty: none)",
            default="",
            show_default=False,
        ).strip()
        if not user or user in models:
            break
        typer.secho(f"  no model is named {user!r}", fg=typer.colors.RED)
    if not user:
        return auth
    auth["user_model"] = user
    if typer.confirm(
        f"  Add registration (POST /registrations makes a user at the provider, then "
        f"a {user} row)?",
        default=False,
    ):
        auth["registration"] = True
    return auth


def ask_fields(model: str) -> list[dict[str, Any]]:
    """Ask for fields one at a time in a terminal, checking each as it is given."""
    if not sys.stdin.isatty():
        raise UowgenError(
            f"give the fields of {model} in shorthand, as in "
            f"`uowgen add-model {model} name:str:unique`, or pass --from FILE"
        )
    typer.echo(f"Fields of {model}, in shorthand (an empty line ends them):")
    fields: list[dict[str, Any]] = []
    while True:
        token = typer.prompt("  field", default="", show_default=False).strip()
        if not token:
            if fields:
                return fields
            typer.secho("  a model needs at least one field", fg=typer.colors.RED)
            continue
        try:
            fields.append(parse_field(token))
        except UowgenError as exc:
            typer.secho(f"  {exc.message}", fg=typer.colors.RED)


def carry_out(plan: SyncPlan, *, done: str, pretend: bool, allow_dirty: bool) -> None:
    """Print or apply a sync's or an update's plan; exit 1 on conflicts."""
    from uowgen._evolve.sync import (
        apply_sync,
        check_clean,
        describe,
        merges,
        pretend_diff,
    )

    if pretend:
        typer.echo(pretend_diff(plan), nl=False)
        for step in plan.steps:
            typer.echo(f"upgrade step {step}")
        merged = merges(plan)
        if merged:
            # Which merge made each file: Python statements, or lines.
            typer.echo("Merges:\n" + "\n".join(merged))
        typer.secho("--pretend: nothing was written", fg=typer.colors.YELLOW)
        return
    check_clean(plan, allow_dirty=allow_dirty)
    apply_sync(plan)
    typer.echo(done)
    for line in describe(plan):
        typer.echo(line)
    for step in plan.steps:
        typer.echo(f"Upgrade step {step}")
    if plan.dirty is None:
        typer.secho(
            "Not a git repository: these changes cannot be undone with git.",
            fg=typer.colors.YELLOW,
        )
    if plan.migration is not None:
        typer.echo("\nNext: .venv/bin/alembic upgrade head   # apply the migration")
    if plan.merge.conflicts:
        typer.secho(
            "\nConflicts: both you and the new render changed these; resolve the "
            "marked regions, then delete "
            f"{CONFLICTS_FILE}:\n"
            + "\n".join(f"  {path}" for path in plan.merge.conflicts),
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
