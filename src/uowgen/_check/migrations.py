"""UG5xx: the models against the Alembic migrations, as `alembic check` compares them.

On a scratch SQLite database, in the project's own interpreter: `project_probe`
runs there and writes what it found as JSON, which this module reads into
findings.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Literal

from uowgen._check import project_probe
from uowgen._check.findings import Finding, finding, read_text
from uowgen.errors import UowgenError

# How long the migration check may take before giving up.
MIGRATION_TIMEOUT_S: Final = 600
# The probe is run by its path: the project's interpreter need not have uowgen.
PROBE: Final = Path(project_probe.__file__)
# How many missing dependencies a finding names before "and N more".
_MISSING_SHOWN: Final = 5
# What a project's install is, in its README's words.
_INSTALL: Final = "python -m venv .venv && .venv/bin/pip install -e '.[dev]'"


@dataclass(frozen=True)
class MigrationOutcome:
    """What the migration check found.

    Attributes:
        status: `ok`, `drift` (the models and the migrated schema differ),
            `failed` (a migration or the models did not run), `not-installed`
            (the interpreter lacks the project's dependencies), or `unavailable`
            (alembic could not be run in the project's interpreter).
        operations: For `drift`: alembic's upgrade operations as plain data
            ({"op", "table", "column", "name", "columns", "old", "new", ...,
            "path", "line"}); empty when only `message` came back.
        message: For `drift` without operations: alembic's own message.
        error: For `failed` and `unavailable`: the error.
        stage: For `failed`: `upgrade` or `check`.
        path: For `failed`: the project file the error was raised in.
        line: Its line.
        missing: For `not-installed`: the distributions or modules it lacks.
        python: The interpreter the check ran in, as shown to the user (relative
            to the project when inside it, e.g. `.venv/bin/python`).
        chosen: How that interpreter was chosen: `--python`, `.venv` (the
            project's), or `uowgen` (the one running uowgen: no `.venv`).
    """

    status: Literal["ok", "drift", "failed", "not-installed", "unavailable"]
    operations: tuple[dict[str, Any], ...] = ()
    message: str = ""
    error: str = ""
    stage: str = ""
    path: str | None = None
    line: int | None = None
    missing: tuple[str, ...] = ()
    python: str = ""
    chosen: Literal["--python", ".venv", "uowgen", ""] = ""


def project_python(root: Path) -> str:
    """The interpreter the project runs in: its `.venv`, else this one."""
    return venv_python(root) or sys.executable


def venv_python(root: Path) -> str | None:
    """The project's `.venv` interpreter, when it has one."""
    for candidate in (
        root / ".venv" / "bin" / "python",
        root / ".venv" / "Scripts" / "python.exe",
    ):
        if candidate.is_file():
            return str(candidate)
    return None


def given_python(value: str) -> str:
    """The interpreter `uowgen check --python` names, as an absolute path.

    A bare name (`python3.12`) is looked up on PATH. The path is made absolute but
    its links are kept: a virtual environment's `bin/python` is a link to the
    interpreter it was made from, and only the link runs in the environment.

    Raises:
        UowgenError: no such file, or not an executable file.
    """
    path = Path(value).expanduser()
    if path.name == value and not path.exists():
        on_path = shutil.which(value)
        path = Path(on_path) if on_path else path
    fix = (
        "pass the interpreter the project is installed in, as in "
        "`uowgen check --python .venv/bin/python`"
    )
    if not path.exists():
        raise UowgenError(f"--python {value}: no such file; {fix}")
    if not path.is_file() or not os.access(path, os.X_OK):
        raise UowgenError(f"--python {value}: not an executable file; {fix}")
    return str(path.absolute())


def run_migration_check(root: Path, python: str | None = None) -> MigrationOutcome:
    """Upgrade a scratch SQLite database to head and compare it with the models.

    Runs `project_probe` by its path in `python` (given with `--python`; default:
    `project_python(root)`), in one process, with DATABASE_URL naming a database
    in a temporary folder; nothing is written to the project (bytecode included).
    The outcome says which interpreter ran it, and how it was chosen.
    """
    chosen: Literal["--python", ".venv", "uowgen"] = "--python"
    if python is None:
        python = venv_python(root)
        chosen = ".venv" if python else "uowgen"
    python = python or sys.executable
    outcome = _run_probe(root, python)
    return replace(outcome, python=_shown_python(python, root), chosen=chosen)


def _shown_python(python: str, root: Path) -> str:
    try:
        return Path(python).relative_to(root).as_posix()
    except ValueError:
        return python


def _run_probe(root: Path, python: str) -> MigrationOutcome:
    if not (root / "alembic.ini").is_file():
        return MigrationOutcome("unavailable", error="the project has no alembic.ini")
    with tempfile.TemporaryDirectory(prefix="uowgen-check-") as scratch:
        result_file = Path(scratch) / "result.json"
        database = Path(scratch) / "check.db"
        source = root / "src"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": os.pathsep.join(
                [str(source), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        }
        try:
            done = subprocess.run(
                [python, str(PROBE), str(root), str(result_file)],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                check=False,
                timeout=MIGRATION_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            return MigrationOutcome(
                "failed",
                stage="upgrade",
                error=f"alembic took more than {MIGRATION_TIMEOUT_S} s",
            )
        except OSError as exc:
            return MigrationOutcome("unavailable", error=f"cannot run {python}: {exc}")
        text = read_text(result_file)
    if text is None:
        said = (done.stderr or done.stdout).strip().splitlines()
        return MigrationOutcome(
            "unavailable",
            error=f"{python} exited {done.returncode}: "
            + (said[-1] if said else "no output"),
        )
    return parse_outcome(json.loads(text))


def parse_outcome(data: Mapping[str, Any]) -> MigrationOutcome:
    """The JSON `project_probe` writes, as a `MigrationOutcome`."""
    status = data.get("status")
    if status not in ("ok", "drift", "failed", "not-installed", "unavailable"):
        return MigrationOutcome("unavailable", error=f"unexpected result: {data!r}")
    line = data.get("line")
    return MigrationOutcome(
        status=status,
        operations=tuple(data.get("operations") or ()),
        message=str(data.get("message") or ""),
        error=str(data.get("error") or ""),
        stage=str(data.get("stage") or ""),
        path=data.get("path"),
        line=line if isinstance(line, int) else None,
        missing=tuple(map(str, data.get("missing") or ())),
    )


# An operation's tuple opens with a bare parenthesis; `Column('add_on', ...` does not.
_OP_START = re.compile(r"(?<!\w)\('((?:add|remove|modify)_[a-z_]+)', ")


def parse_alembic_message(message: str) -> list[dict[str, Any]]:
    """Read alembic's "New upgrade operations detected: [...]" as plain operations.

    A fallback for an alembic whose exception does not carry its diffs: the
    message is the `repr` of the diff tuples, so this reads the operation names
    and the table and column names in it, and nothing else.
    """
    found: list[dict[str, Any]] = []
    starts = list(_OP_START.finditer(message))
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(message)
        segment = message[match.end() : end]
        op: dict[str, Any] = {"op": match.group(1)}
        column = re.match(
            r"(?:None|'[^']*'), '([^']+)', (?:Column\()?'([^']+)'", segment
        )
        table = re.match(r"Table\('([^']+)'", segment) or re.search(
            r"table=<([^>]+)>", segment
        )
        if column:
            op["table"], op["column"] = column.group(1), column.group(2)
        elif table:
            op["table"] = table.group(1)
        name = re.match(r"\w+\('([^']+)'", segment)
        if name and not segment.startswith("Table("):
            op["name"] = name.group(1)
        found.append(op)
    return found


def describe_operation(op: Mapping[str, Any]) -> str:
    """One alembic upgrade operation in words: what the migrations lack."""
    kind = str(op.get("op", "?"))
    table = op.get("table") or "?"
    column = f"{table}.{op['column']}" if op.get("column") else table
    name = f" {op['name']}" if op.get("name") else ""
    columns = f" ({', '.join(map(str, op['columns']))})" if op.get("columns") else ""
    old, new = op.get("old"), op.get("new")
    if kind == "modify_nullable":
        model = "nullable" if new else "NOT NULL"
        migrated = "nullable" if old else "NOT NULL"
        return f"column {column} is {model} in the model, {migrated} in the migrations"
    described = {
        "add_table": f"table {table} is in the models but no migration creates it",
        "remove_table": f"table {table} is in the migrations but in no model",
        "add_column": f"column {column} is in the model but no migration adds it",
        "remove_column": f"column {column} is in the migrations but not in the model",
        "modify_type": (
            f"column {column} is {new} in the model, {old} in the migrations"
        ),
        "modify_default": f"the server default of column {column} differs",
        "modify_comment": f"the comment of column {column} differs",
        "add_index": f"index{name}{columns} on {table} is in the models only",
        "remove_index": f"index{name}{columns} on {table} is in the migrations only",
        "add_constraint": f"constraint{name}{columns} on {table} is in the models only",
        "remove_constraint": (
            f"constraint{name}{columns} on {table} is in the migrations only"
        ),
        "add_fk": f"foreign key{name}{columns} on {table} is in the models only",
        "remove_fk": f"foreign key{name}{columns} on {table} is in the migrations only",
    }
    if kind in described:
        return described[kind]
    detail = op.get("detail")
    return f"{kind} on {column}" + (f": {detail}" if detail else "")


def _revision_message(operations: Iterable[Mapping[str, Any]]) -> str:
    words = {"add_table": "add table", "remove_table": "drop table"}
    operations = list(operations)
    # A table added or dropped whole says its indexes and keys too.
    whole = {op.get("table") for op in operations if op.get("op") in words}
    parts: list[str] = []
    for op in operations:
        kind = str(op.get("op", ""))
        if kind not in words and op.get("table") in whole:
            continue
        target = op.get("column") and f"{op.get('table')}.{op['column']}"
        part = (
            f"{words[kind]} {op.get('table')}"
            if kind in words
            else f"{kind.split('_')[0]} {target or op.get('table') or kind}"
        )
        if part not in parts:
            parts.append(part)
    shown = ", ".join(parts[:2]) + (
        f" and {len(parts) - 2} more" if len(parts) > 2 else ""
    )
    return shown.replace('"', "'") or "match the models"


def migration_findings(
    outcome: MigrationOutcome, *, spec_changed: bool = False
) -> list[Finding]:
    """The findings of a migration check.

    Args:
        outcome: What `run_migration_check` found.
        spec_changed: Whether `uowgen.yml` has unapplied changes; then `uowgen
            sync` writes the missing migration, else alembic autogenerates it.
    """
    if outcome.status == "ok":
        return []
    if outcome.status == "not-installed":
        return [not_installed_finding(outcome)]
    if outcome.status == "unavailable":
        return [
            finding(
                "migrations-unchecked",
                f"cannot compare the models with the migrations: {outcome.error}",
                "install the project into the interpreter that runs uowgen "
                "(`pip install -e .`), or create the project's .venv",
            )
        ]
    if outcome.status == "failed":
        error = _first_line(outcome.error)
        if outcome.stage == "upgrade":
            what = "`alembic upgrade head` fails on an empty SQLite database"
        else:
            what = "`alembic check` fails after `alembic upgrade head`"
        if "Multiple head revisions" in outcome.error:
            fix = 'alembic merge heads -m "merge heads"'
        elif outcome.stage == "upgrade":
            fix = "fix the error, then `alembic upgrade head` on an empty database"
        else:
            fix = "fix the error, then `alembic check`"
        return [
            finding(
                "migration-failed",
                f"{what}: {error}",
                fix,
                outcome.path,
                outcome.line,
            )
        ]
    operations = list(outcome.operations) or parse_alembic_message(outcome.message)
    fix = (
        "uowgen sync"
        if spec_changed
        else f'alembic revision --autogenerate -m "{_revision_message(operations)}"'
    )
    if not operations:
        return [
            finding(
                "migration-drift",
                f"the models and the migrations differ: {_first_line(outcome.message)}",
                fix,
            )
        ]
    return [
        finding(
            "migration-drift",
            describe_operation(op),
            fix,
            op.get("path") if isinstance(op.get("path"), str) else None,
            op.get("line") if isinstance(op.get("line"), int) else None,
        )
        for op in operations
    ]


def not_installed_finding(outcome: MigrationOutcome) -> Finding:
    """UG504: the interpreter the check ran in lacks the project's dependencies.

    Said plainly, with how to install the project (or choose the interpreter that
    has it), rather than as the ImportError its migrations would raise.
    """
    names = list(outcome.missing) or ["its dependencies"]
    shown = ", ".join(names[:_MISSING_SHOWN]) + (
        f" and {len(names) - _MISSING_SHOWN} more"
        if len(names) > _MISSING_SHOWN
        else ""
    )
    python = outcome.python or "this interpreter"
    if outcome.chosen == "--python":
        message = f"the project is not installed in --python {python}: it lacks {shown}"
        fix = (
            f"install it there (`{python} -m pip install -e '.[dev]'`), or pass "
            "--python with the interpreter it is installed in"
        )
    elif outcome.chosen == ".venv":
        message = (
            f"the project is not installed in its .venv ({python}): it lacks {shown}"
        )
        fix = "install it: `.venv/bin/pip install -e '.[dev]'`, or pass --python PATH"
    else:
        message = (
            "the project is not installed: it has no .venv, and the interpreter "
            f"running uowgen ({python}) lacks {shown}"
        )
        fix = f"create .venv with `{_INSTALL}`, or pass --python PATH"
    return finding("project-not-installed", message, fix)


def _first_line(text: str, limit: int = 300) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"
