"""Alembic operations -> the text of a revision file, formatted by ruff.

The file is written in the style of the initial migration: the revision's
constants, `upgrade()` and `downgrade()`, and the helpers those use pasted in (the
`ID` type; the SQLite foreign-key guard, kept as real code in `sqlite_guard`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from alembic.autogenerate import render_python_code
from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops
from sqlalchemy.sql import functions as sa_functions

from uowgen._migrate import sqlite_guard
from uowgen._migrate.diff import Revision, initial_revision
from uowgen._migrate.operations import _BatchTableOps, _FillOp
from uowgen._schema.tables import ID_TYPE
from uowgen._spec.models import ProjectSpec

INITIAL_MESSAGE = "Create the tables of the initial models."


def initial_migration(spec: ProjectSpec) -> str:
    """The text of a new project's `migrations/versions/0001_initial.py`."""
    return render_revision(
        initial_revision(spec),
        revision_id="0001",
        down_revision=None,
        message=INITIAL_MESSAGE,
    )


def render_revision(
    revision: Revision,
    *,
    revision_id: str,
    down_revision: str | None,
    message: str,
    path: Path | None = None,
) -> str:
    """The source of a revision file, formatted by ruff.

    `path` (where the file will go) picks the ruff settings of its project; without
    it the defaults apply, which are the generated projects' settings.
    """
    upgrade, upgrade_uses = _render_ops(revision.upgrade_ops)
    downgrade, downgrade_uses = _render_ops(revision.downgrade_ops)
    uses = upgrade_uses | downgrade_uses
    imports = sorted(uses & {"import datetime", "import decimal", "import uuid"})
    abc = ["Iterator", "Sequence"] if "guard" in uses else ["Sequence"]
    imports.append(f"from collections.abc import {', '.join(abc)}")
    if "guard" in uses:
        imports.append("from contextlib import contextmanager")
    docstring = (
        f"{_docstring_line(message)}\n\n"
        f"Revision ID: {revision_id}\nRevises: {down_revision or ''}\n"
    )
    header = (
        f"revision: str = {revision_id!r}\n"
        f"down_revision: str | None = {down_revision!r}\n"
        "branch_labels: str | Sequence[str] | None = None\n"
        "depends_on: str | Sequence[str] | None = None\n"
    )
    parts = [
        f'"""{docstring}"""\n',
        "\n".join(imports) + "\n\nimport sqlalchemy as sa\nfrom alembic import op\n",
        header,
    ]
    if "ID" in uses:
        parts.append(_ID_DEFINITION)
    parts.append(f"\ndef upgrade() -> None:\n{upgrade}\n")
    parts.append(f"\ndef downgrade() -> None:\n{downgrade}\n")
    if "guard" in uses:
        parts.append(_GUARD)
    return _ruff_format("\n".join(parts), path)


# Code a revision file carries when it needs it.
# The ID type stays a string: a comment and one assignment, the expression of
# `ID_TYPE` (`uowgen._schema.tables`), which `_is_id_type` recognises. The foreign-key
# guard is real code in `sqlite_guard`, pasted from below its marker line.
_ID_DEFINITION = """# 64-bit ids; exactly INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""
_GUARD_MARKER = "# --- pasted into revision files below this line ---\n"


def _guard_source() -> str:
    """The source of `sqlite_guard` below its marker line, as the file carries it."""
    text = Path(sqlite_guard.__file__).read_text(encoding="utf-8")
    _, marker, code = text.partition(_GUARD_MARKER)
    if not marker:
        raise RuntimeError(f"{sqlite_guard.__file__}: no line {_GUARD_MARKER!r}")
    return "\n" + code.lstrip("\n")


_GUARD = _guard_source()

# --- rendering ------------------------------------------------------------------------


def _render_ops(container: ops.OpContainer) -> tuple[str, set[str]]:
    """The body of upgrade() or downgrade(), and the helpers and imports it uses."""
    uses: set[str] = set()

    def render_item(
        kind: str, obj: Any, autogen_context: AutogenContext
    ) -> str | Literal[False]:
        del autogen_context
        if kind == "type" and _is_id_type(obj):
            uses.add("ID")
            return "ID"
        if kind == "server_default" and isinstance(obj, sa.Identity):
            return "sa.Identity()"
        if (
            kind == "server_default"
            and isinstance(obj, sa.DefaultClause)
            and isinstance(obj.arg, sa_functions.now)
        ):
            return "sa.func.now()"
        return False

    operations = list(container.ops)
    code = render_python_code(
        ops.UpgradeOps(ops=operations), render_as_batch=True, render_item=render_item
    )
    # Alembic's own opening and closing comments go; every other line is indented.
    lines = [line for line in code.splitlines() if not line.strip().startswith("# ###")]
    body = "\n".join(lines)
    for op in operations:
        if isinstance(op, _FillOp) and op.value is not None:
            uses |= op.value.imports
    if any(isinstance(op, _BatchTableOps) for op in operations):
        uses.add("guard")
        indented = "\n".join(
            f"    {line}" if line else line for line in body.split("\n")
        )
        body = f"    with sqlite_foreign_keys_off():\n{indented}"
    return body, uses


def _is_id_type(type_: Any) -> bool:
    variants = getattr(type_, "_variant_mapping", None) or {}
    return type_ is ID_TYPE or (
        isinstance(type_, sa.BigInteger) and type(variants.get("sqlite")) is sa.Integer
    )


def _ruff_format(source: str, path: Path | None) -> str:
    """Fix (e.g. join nested `with`s) and format, as the project's own ruff would."""
    where = (
        ["--isolated", "--line-length", "88", "-"]
        if path is None
        else ["--stdin-filename", str(path), "-"]
    )
    # Formatted first: some fixes (joining `with`s) apply only to lines that fit.
    formatted = _ruff(["format", *where], source)
    fixed = _ruff(["check", "--fix", "--exit-zero", "--quiet", *where], formatted)
    return _ruff(["format", *where], fixed)


def _ruff(arguments: list[str], source: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *arguments],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ruff could not tidy the revision:\n{result.stderr}")
    return result.stdout


def _docstring_line(message: str) -> str:
    """`message` on one line, safe inside a triple-quoted docstring."""
    line = " ".join(message.split()) or "Migrate the tables"
    line = line.replace("\\", "\\\\").replace('"', '\\"')
    return line
