"""The `uowgen` command line: the only module that prints or exits."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml

from uowgen._check.checks import ReportFormat, check_project, format_report
from uowgen._doctor import (
    DoctorFormat,
    format_doctor_report,
    run_doctor,
    text_warnings,
)
from uowgen._evolve.project import (
    ANSWERS_FILE,
    CONFLICTS_FILE,
    SPEC_FILE,
    Project,
    find_project,
)
from uowgen._spec import edit as spec_edit
from uowgen._spec.models import (
    ProjectSpec,
    Renames,
    load_spec,
    parse_spec,
    spec_problems,
)
from uowgen._spec.shorthand import HELP as SHORTHAND_HELP
from uowgen._spec.shorthand import parse_field, parse_fields
from uowgen._version import __version__
from uowgen.errors import UowgenError

if TYPE_CHECKING:
    from uowgen._evolve.sync import SyncPlan

# Rendering, merging and migrating import copier, SQLAlchemy and Alembic (about a
# second): the commands that need them import them when they run, so `--help`,
# `validate` and `check` start at once.

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
        _refuse_overwriting_a_project(dst, overwrite=overwrite)
        if spec is not None:
            project_spec: ProjectSpec | None = load_spec(spec)
        elif interactive:
            project_spec = _ask_spec()
        else:
            project_spec = None  # copier's defaults
        from uowgen._render.engine import generate

        made = generate(project_spec, dst, overwrite=overwrite)
    files = sum(1 for path in made.rglob("*") if path.is_file())
    models = len(load_spec(made / "uowgen.yml").models)  # the spec the project keeps
    typer.secho(
        f"Created {made}: {models} model{'s' if models != 1 else ''}, {files} files",
        fg=typer.colors.GREEN,
    )
    admin = load_spec(made / "uowgen.yml").admin
    steps = [
        (f"cd {dst}", ""),
        ("python -m venv .venv && .venv/bin/pip install -e '.[dev]'", "install"),
        (".venv/bin/alembic upgrade head", "create the SQLite schema"),
        *(
            [
                (
                    f".venv/bin/python -m {_package_of(made)}.admin.password",
                    "ADMIN_PASSWORD_HASH; ADMIN_SECRET_KEY too (README: The admin)",
                )
            ]
            if admin
            else []
        ),
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


# Help texts go through Rich markup, where `[active,blocked]` would be a style tag.
SHORTHAND_EPILOG = SHORTHAND_HELP.replace("[", "\\[")

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


@app.command(epilog=SHORTHAND_EPILOG)
def sync(
    project: ProjectOption = None,
    pretend: PretendOption = False,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Apply the changes of uowgen.yml: code (three-way merged) and a migration."""
    with _exit_on_user_error():
        found = find_project(project or Path.cwd())
        _sync(found, pretend=pretend, allow_dirty=allow_dirty)


@app.command()
def update(
    project: ProjectOption = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Where the uowgen that rendered the project is: a wheel, a "
            "checkout, or a git URL (default: the package index, or the git URL "
            "the project recorded).",
            show_default=False,
        ),
    ] = None,
    ref: Annotated[
        str | None,
        typer.Option(
            "--ref", help="The git ref of a --from git URL (default: v<version>)."
        ),
    ] = None,
    pretend: PretendOption = False,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Bring the project to this uowgen's template, keeping your edits.

    A three-way merge: the project as its own uowgen version rendered it, this
    version's render, and your files. Conflicts are marked, listed (exit 1) and
    recorded until resolved.
    """
    with _exit_on_user_error():
        found = find_project(project or Path.cwd())
        recorded = found.rendered_version()
        from uowgen._evolve.update import plan_update

        plan, release = plan_update(found, source=source, ref=ref)
        if plan is None:
            typer.echo(
                f"{found.root} is already at uowgen {__version__}'s template: "
                "nothing to do"
            )
            return
        assert release is not None  # a plan is made against a release
        typer.echo(f"Old template: {release.origin}")
        _carry_out(
            plan,
            done=f"Updated {found.root} from uowgen {recorded or release.version} to "
            f"{__version__}:",
            pretend=pretend,
            allow_dirty=allow_dirty,
        )


@app.command("add-model", epilog=SHORTHAND_EPILOG)
def add_model(
    name: Annotated[str, typer.Argument(help="The model's name, in PascalCase.")],
    fields: FieldsArgument = None,
    from_file: FromOption = None,
    project: ProjectOption = None,
    pretend: PretendOption = False,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Add a model to uowgen.yml and sync: its code, wiring and migration.

    Example: uowgen add-model Tag name:str:unique 'color:str?' owner:ref:User:cascade
    """
    with _exit_on_user_error():
        found = find_project(project or Path.cwd())
        new_fields = _fields(fields, from_file)
        if not new_fields:
            new_fields = _ask_fields(name)
        text = spec_edit.add_model(_spec_text(found), name, new_fields)
        _sync(found, spec_text=text, pretend=pretend, allow_dirty=allow_dirty)


@app.command("add-field", epilog=SHORTHAND_EPILOG)
def add_field(
    model: Annotated[str, typer.Argument(help="The model to add fields to.")],
    fields: FieldsArgument = None,
    from_file: FromOption = None,
    project: ProjectOption = None,
    pretend: PretendOption = False,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Add fields to a model in uowgen.yml and sync.

    A new required field needs a default: existing rows get it.

    Example: uowgen add-field User 'phone:str?' score:int=0
    """
    with _exit_on_user_error():
        found = find_project(project or Path.cwd())
        new_fields = _fields(fields, from_file)
        if not new_fields:
            raise UowgenError(
                "give at least one field (e.g. score:int=0) or --from FILE"
            )
        text = spec_edit.add_fields(_spec_text(found), model, new_fields)
        _sync(found, spec_text=text, pretend=pretend, allow_dirty=allow_dirty)


@app.command("remove-model")
def remove_model(
    name: Annotated[str, typer.Argument(help="The model to remove.")],
    project: ProjectOption = None,
    pretend: PretendOption = False,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Remove a model from uowgen.yml and sync.

    Its unedited files are deleted (edited ones are kept and listed), and a
    migration drops its table.
    """
    with _exit_on_user_error():
        found = find_project(project or Path.cwd())
        text = spec_edit.remove_model(_spec_text(found), name)
        _sync(found, spec_text=text, pretend=pretend, allow_dirty=allow_dirty)


@app.command("rename-field")
def rename_field(
    model: Annotated[str, typer.Argument(help="The model.")],
    old: Annotated[str, typer.Argument(help="The field's current name.")],
    new: Annotated[str, typer.Argument(help="Its new name.")],
    project: ProjectOption = None,
    pretend: PretendOption = False,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Rename a field and sync: the migration renames the column, keeping its data.

    Editing the name in uowgen.yml by hand would drop the column and add another.
    """
    with _exit_on_user_error():
        found = find_project(project or Path.cwd())
        text = spec_edit.rename_field(_spec_text(found), model, old, new)
        renames = Renames(fields={(model, new): old})
        _sync(
            found,
            spec_text=text,
            renames=renames,
            pretend=pretend,
            allow_dirty=allow_dirty,
        )


@app.command("rename-model")
def rename_model(
    old: Annotated[str, typer.Argument(help="The model's current name.")],
    new: Annotated[str, typer.Argument(help="Its new name.")],
    project: ProjectOption = None,
    pretend: PretendOption = False,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Rename a model and sync: its table is renamed with its rows, refs follow.

    Its files move to their new names with your edits in them. Editing the name
    in uowgen.yml by hand would drop the table and create another.
    """
    with _exit_on_user_error():
        found = find_project(project or Path.cwd())
        text = spec_edit.rename_model(_spec_text(found), old, new)
        _sync(
            found,
            spec_text=text,
            renames=Renames(models={new: old}),
            pretend=pretend,
            allow_dirty=allow_dirty,
        )


@app.command()
def check(
    project: ProjectOption = None,
    output: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            help="text: a line per finding; json: for bots; github: annotations.",
        ),
    ] = ReportFormat.TEXT,
    latest: Annotated[
        bool,
        typer.Option(
            "--latest",
            help="Also ask the package index for a newer uowgen release "
            "(off by default, so CI answers the same for the same commit).",
        ),
    ] = False,
) -> None:
    """Check the project is in step with this uowgen and its spec: a gate for CI.

    Checks the template version, unapplied uowgen.yml changes, the wiring of
    every model, leftover conflicts, and the models against the migrations (on a
    scratch SQLite database). Exit 0: in step; 1: findings, one a line, each with
    the command that fixes it; 2: not a project, or the check could not run.
    """
    with _exit_on_user_error():
        found = find_project(project or Path.cwd())
        report = check_project(found, latest=latest)
    typer.echo(format_report(report, output, cwd=Path.cwd()))
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def doctor(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files and folders to check (default: the current folder).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        DoctorFormat,
        typer.Option(
            "--format",
            help="text: ruff-like lines; json: for bots; github: annotations; "
            "sarif: SARIF 2.1.0 for code scanning.",
        ),
    ] = DoctorFormat.TEXT,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            help="Rules to check, by code or prefix (UOW003, UOW00); comma-separated "
            "or repeated. Replaces the config's select.",
            show_default=False,
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            help="Rules not to check, by code or prefix; added to the config's.",
            show_default=False,
        ),
    ] = None,
    no_config: Annotated[
        bool,
        typer.Option(
            "--no-config", help="Ignore [tool.uowgen.doctor] in pyproject.toml."
        ),
    ] = False,
) -> None:
    """Lint any FastAPI + SQLAlchemy code for the session mistakes uowgen prevents.

    Statically, with Python's ast: sessions shared from import time (UOW001),
    commits after a dependency's yield (UOW002), HTTP calls inside a transaction
    (UOW003), autocommit=True (UOW004), engines never disposed (UOW005),
    expire_on_commit with async sessions (UOW006), lazy relationships under
    asyncio (UOW007). `# noqa: UOW003` on a line silences it there. Exit 0: clean;
    1: findings; 2: a bad path, option or configuration.
    """

    def codes(values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        return [code for value in values for code in value.split(",") if code.strip()]

    with _exit_on_user_error():
        report = run_doctor(
            paths or [Path()],
            select=codes(select),
            ignore=codes(ignore) or [],
            use_config=not no_config,
        )
    if output is DoctorFormat.TEXT:
        for line in text_warnings(report):
            typer.secho(line, fg=typer.colors.YELLOW, err=True)
    typer.echo(format_doctor_report(report, output))
    if not report.ok:
        raise typer.Exit(1)


def _refuse_overwriting_a_project(dst: Path, *, overwrite: bool) -> None:
    # Rendering over a generated project would leave the modules of models that
    # are gone, and overwrite the owner's edits: that is what `sync` is for.
    if overwrite and (dst / SPEC_FILE).is_file() and (dst / ANSWERS_FILE).is_file():
        raise UowgenError(
            f"{dst} is a uowgen project: edit its {SPEC_FILE} and run `uowgen sync` "
            "(your edits are kept, files of removed models deleted), or delete the "
            "folder to start over"
        )


def _ask_spec() -> ProjectSpec:
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
        model = {"name": name, "fields": _ask_fields(name)}
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
    return parse_spec(spec)


def _spec_text(project: Project) -> str:
    # The file must be a valid spec before it is changed: the same messages as
    # `uowgen validate`.
    project.spec()
    return project.spec_path.read_text(encoding="utf-8")


def _fields(tokens: list[str] | None, from_file: Path | None) -> list[dict[str, Any]]:
    fields = parse_fields(tokens or [])
    if from_file is not None:
        fields += _fragment_fields(from_file)
    return fields


def _fragment_fields(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UowgenError(f"{path}: cannot read it as YAML: {exc}") from exc
    fields = data.get("fields") if isinstance(data, dict) else data
    if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
        raise UowgenError(
            f"{path}: expected a `fields:` list of fields in the spec format, "
            "e.g. `fields: [{name: phone, type: str, optional: true}]`"
        )
    return fields


def _ask_fields(model: str) -> list[dict[str, Any]]:
    """Ask for fields one at a time in a terminal, checking each as it is given."""
    if not sys.stdin.isatty():
        raise UowgenError(
            f"give the fields of {model} (e.g. name:str:unique), or --from FILE"
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


def _sync(
    project: Project,
    *,
    spec_text: str | None = None,
    renames: Renames | None = None,
    pretend: bool,
    allow_dirty: bool,
) -> None:
    from uowgen._evolve.sync import plan_sync

    plan = plan_sync(project, spec_text=spec_text, renames=renames)
    if plan is None:
        typer.echo(f"{project.root} is in step with {SPEC_FILE}: nothing to do")
        return
    _carry_out(
        plan,
        done=f"Synced {project.root} with {SPEC_FILE}:",
        pretend=pretend,
        allow_dirty=allow_dirty,
    )


def _carry_out(plan: SyncPlan, *, done: str, pretend: bool, allow_dirty: bool) -> None:
    """Print or apply a sync's or an update's plan; exit 1 on conflicts."""
    from uowgen._evolve.sync import apply_sync, check_clean, describe, pretend_diff

    if pretend:
        typer.echo(pretend_diff(plan), nl=False)
        for step in plan.steps:
            typer.echo(f"upgrade step {step}")
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


def _package_of(project: Path) -> str:
    packages = [p.parent.name for p in (project / "src").glob("*/__init__.py")]
    return packages[0] if packages else "app"


def main() -> None:
    """Entry point of the `uowgen` script."""
    app()
