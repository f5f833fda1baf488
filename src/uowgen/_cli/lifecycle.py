"""The commands of a project's life: new, validate, sync, update, add, remove, rename.

Rendering, merging and migrating import copier, SQLAlchemy and Alembic (about a
second): these commands import them when they run, so `--help` and `validate`
start at once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from uowgen import _yaml
from uowgen._cli.output import (
    AllowDirtyOption,
    FieldsArgument,
    FromOption,
    PretendOption,
    ProjectOption,
    SpecOption,
    ask_fields,
    ask_spec,
    carry_out,
    exit_on_user_error,
)
from uowgen._evolve.project import SPEC_FILE, Project, find_project
from uowgen._render.answers import ANSWERS_FILE
from uowgen._spec import edit as spec_edit
from uowgen._spec.models import ProjectSpec, Renames
from uowgen._spec.shorthand import parse_fields
from uowgen._spec.validate import load_spec
from uowgen._version import __version__
from uowgen.errors import UowgenError


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
    with exit_on_user_error("new"):
        interactive = spec is None and not defaults
        if interactive and not sys.stdin.isatty():
            raise UowgenError(
                f"no spec for {dst}, and no terminal to ask the questions on; "
                "pass --spec FILE to render a spec, or --defaults to take the "
                "default answers"
            )
        _refuse_overwriting_a_project(dst, overwrite=overwrite)
        written = None
        if spec is not None:
            project_spec: ProjectSpec | None = load_spec(spec)
            # The spec's key order, which the project's uowgen.yml keeps.
            written = _yaml.safe_load(spec.read_text(encoding="utf-8")).get("models")
        elif interactive:
            project_spec = ask_spec()
        else:
            project_spec = None  # copier's defaults
        from uowgen._render.engine import generate

        made = generate(project_spec, dst, overwrite=overwrite, written=written)
    files = sum(1 for path in made.rglob("*") if path.is_file())
    models = len(load_spec(made / "uowgen.yml").models)  # the spec the project keeps
    typer.secho(
        f"Created {made}: {models} model{'s' if models != 1 else ''}, {files} files",
        fg=typer.colors.GREEN,
    )
    made_spec = load_spec(made / "uowgen.yml")
    admin, auth = made_spec.admin, made_spec.auth is not None
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
        *(
            [
                (
                    ".venv/bin/python -m tests.utils.oidc_provider",
                    "a stub provider and a token (README: Authentication)",
                )
            ]
            if auth
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


def validate(
    spec: Annotated[Path, typer.Argument(help="The model spec (YAML) to check.")],
) -> None:
    """Check a model spec and report every problem; writes nothing."""
    with exit_on_user_error("validate"):
        project_spec = load_spec(spec)
    count = len(project_spec.models)
    typer.echo(f"{spec}: valid ({count} model{'s' if count != 1 else ''})")


def sync(
    project: ProjectOption = None,
    pretend: PretendOption = False,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Apply the changes of uowgen.yml: code (three-way merged) and a migration."""
    with exit_on_user_error("sync"):
        found = find_project(project or Path.cwd())
        _sync(found, pretend=pretend, allow_dirty=allow_dirty)


def update(
    project: ProjectOption = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="SOURCE",
            help="Where the uowgen that rendered the project is: a wheel, a "
            "checkout, or a git URL (default: the package index, or the git URL "
            "the project recorded).",
            show_default=False,
        ),
    ] = None,
    ref: Annotated[
        str | None,
        typer.Option(
            "--ref",
            metavar="REF",
            help="The git ref of a --from git URL (default: v<version>).",
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
    with exit_on_user_error("update"):
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
        carry_out(
            plan,
            done=f"Updated {found.root} from uowgen {recorded or release.version} to "
            f"{__version__}:",
            pretend=pretend,
            allow_dirty=allow_dirty,
        )


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
    with exit_on_user_error("add-model"):
        found = find_project(project or Path.cwd())
        new_fields = _fields(fields, from_file)
        if not new_fields:
            new_fields = ask_fields(name)
        text = spec_edit.add_model(_spec_text(found), name, new_fields)
        _sync(found, spec_text=text, pretend=pretend, allow_dirty=allow_dirty)


def add_field(
    model: Annotated[str, typer.Argument(help="The model to add fields to.")],
    fields: FieldsArgument = None,
    from_file: FromOption = None,
    project: ProjectOption = None,
    pretend: PretendOption = False,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Add fields to a model in uowgen.yml and sync.

    A new required field needs a default: existing rows get it. A many field
    (`tags:many:Tag`) gets a table of links, empty at first.

    Example: uowgen add-field User 'phone:str?' score:int=0 tags:many:Tag
    """
    with exit_on_user_error("add-field"):
        found = find_project(project or Path.cwd())
        new_fields = _fields(fields, from_file)
        if not new_fields:
            raise UowgenError(
                f"give {model} at least one field, as in "
                f"`uowgen add-field {model} score:int=0`, or pass --from FILE"
            )
        text = spec_edit.add_fields(_spec_text(found), model, new_fields)
        _sync(found, spec_text=text, pretend=pretend, allow_dirty=allow_dirty)


def remove_model(
    name: Annotated[str, typer.Argument(help="The model to remove.")],
    project: ProjectOption = None,
    pretend: PretendOption = False,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Remove a model from uowgen.yml and sync.

    Its unedited files are deleted (edited ones are kept and listed), and a
    migration drops its table and the tables of links of its many fields. A model
    that other models' refs or many fields point at is refused: remove or change
    those fields first.
    """
    with exit_on_user_error("remove-model"):
        found = find_project(project or Path.cwd())
        text = spec_edit.remove_model(_spec_text(found), name)
        _sync(found, spec_text=text, pretend=pretend, allow_dirty=allow_dirty)


def rename_field(
    model: Annotated[str, typer.Argument(help="The model.")],
    old: Annotated[str, typer.Argument(help="The field's current name.")],
    new: Annotated[str, typer.Argument(help="Its new name.")],
    project: ProjectOption = None,
    pretend: PretendOption = False,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Rename a field and sync: the migration renames the column, keeping its data.

    A many field's table of links is renamed with every link kept. Editing the
    name in uowgen.yml by hand would drop the column (or the links) and add another.
    """
    with exit_on_user_error("rename-field"):
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


def rename_model(
    old: Annotated[str, typer.Argument(help="The model's current name.")],
    new: Annotated[str, typer.Argument(help="Its new name.")],
    project: ProjectOption = None,
    pretend: PretendOption = False,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Rename a model and sync: its table is renamed with its rows, refs follow.

    Many fields pointing at it follow too, and the tables of links on either side
    are renamed with every link kept. Its files move to their new names with your
    edits in them. Editing the name in uowgen.yml by hand would drop the table and
    create another.
    """
    with exit_on_user_error("rename-model"):
        found = find_project(project or Path.cwd())
        text = spec_edit.rename_model(_spec_text(found), old, new)
        _sync(
            found,
            spec_text=text,
            renames=Renames(models={new: old}),
            pretend=pretend,
            allow_dirty=allow_dirty,
        )


def _refuse_overwriting_a_project(dst: Path, *, overwrite: bool) -> None:
    # Rendering over a generated project would leave the modules of models that
    # are gone, and overwrite the owner's edits: that is what `sync` is for.
    if overwrite and (dst / SPEC_FILE).is_file() and (dst / ANSWERS_FILE).is_file():
        raise UowgenError(
            f"{dst} is a uowgen project: edit its {SPEC_FILE} and run `uowgen sync` "
            "(your edits are kept, files of removed models deleted), or delete the "
            "folder to start over"
        )


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
        data = _yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UowgenError(
            f"{path}: cannot read it as YAML: {exc}; fix it, or give the fields in "
            "shorthand instead of --from"
        ) from exc
    fields = data.get("fields") if isinstance(data, dict) else data
    if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
        raise UowgenError(
            f"{path}: expected a `fields:` list of fields in the spec format, "
            "e.g. `fields: [{name: phone, type: str, optional: true}]`; fix it, or "
            "give the fields in shorthand instead of --from"
        )
    return fields


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
    carry_out(
        plan,
        done=f"Synced {project.root} with {SPEC_FILE}:",
        pretend=pretend,
        allow_dirty=allow_dirty,
    )


def _package_of(project: Path) -> str:
    packages = [p.parent.name for p in (project / "src").glob("*/__init__.py")]
    return packages[0] if packages else "app"
