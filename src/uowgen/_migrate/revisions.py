"""The files of `migrations/versions`: read their revisions, name and write the next.

Revision files are parsed, never imported.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uowgen._migrate.diff import Revision
from uowgen._migrate.writer import render_revision
from uowgen.errors import UowgenError


def write_revision(revision: Revision, versions_dir: Path, *, message: str) -> Path:
    """Write `revision` as the next file of `versions_dir` and return its path.

    Raises:
        UowgenError: as `revision_file` does, or the file exists already.
    """
    path, text = revision_file(revision, versions_dir, message=message)
    try:
        with path.open("x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        raise UowgenError(f"{path} exists already") from None
    return path


def revision_file(
    revision: Revision, versions_dir: Path, *, message: str
) -> tuple[Path, str]:
    """Where `revision` goes in `versions_dir`, and its text; nothing is written.

    The new revision follows the single head: ids count on from the highest
    numeric one (`0001` -> `0002`), and the file is named after the id and a slug
    of `message` (`0002_add_model_review.py`).

    Raises:
        UowgenError: the folder has no revision or several heads, or a revision file
            cannot be read.
    """
    known = read_revisions(versions_dir)
    if not known:
        raise UowgenError(
            f"{versions_dir}: no Alembic revision found; the initial migration "
            "(0001_initial.py) is missing"
        )
    heads = sorted(set(known) - {down for downs in known.values() for down in downs})
    if len(heads) != 1:
        listed = ", ".join(heads) or "none: the revisions form a cycle"
        raise UowgenError(
            f"{versions_dir}: the migrations must have one head, found {listed}; "
            "merge them first (alembic merge heads)"
        )
    revision_id = _next_id(known)
    path = versions_dir / f"{revision_id}_{_slug(message)}.py"
    text = render_revision(
        revision,
        revision_id=revision_id,
        down_revision=heads[0],
        message=message,
        path=path,
    )
    return path, text


def read_revisions(versions_dir: Path) -> dict[str, tuple[str, ...]]:
    """Each revision id in `versions_dir` -> the ids it revises (its down_revision).

    The files are parsed, not imported, so a revision that imports the project
    is read without it.

    Raises:
        UowgenError: the folder is missing, or a file's revision cannot be read.
    """
    if not versions_dir.is_dir():
        raise UowgenError(f"{versions_dir}: no such folder")
    found: dict[str, tuple[str, ...]] = {}
    for path in sorted(versions_dir.glob("*.py")):
        values = _module_constants(path, ("revision", "down_revision"))
        if "revision" not in values:
            continue
        revision, down = values["revision"], values.get("down_revision")
        downs = (down,) if isinstance(down, str) else tuple(down or ())
        if not isinstance(revision, str) or not all(isinstance(d, str) for d in downs):
            raise UowgenError(f"{path}: `revision` and `down_revision` must be strings")
        if revision in found:
            raise UowgenError(f"{path}: revision {revision!r} is defined twice")
        found[revision] = downs
    return found


def _slug(message: str) -> str:
    words = re.findall(r"[a-z0-9]+", message.lower())
    slug = ""
    for word in words:
        if len(slug) + len(word) + 1 > 40:
            break
        slug = f"{slug}_{word}" if slug else word
    return slug or "migrate"


def _next_id(known: Mapping[str, object]) -> str:
    numbers = [int(r) for r in known if r.isdigit()]
    width = max([4, *(len(r) for r in known if r.isdigit())])
    candidate = max(numbers, default=0) + 1
    while f"{candidate:0{width}d}" in known:
        candidate += 1
    return f"{candidate:0{width}d}"


def _module_constants(path: Path, names: tuple[str, ...]) -> dict[str, Any]:
    """Literal values assigned to `names` at the top level of a Python file."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        raise UowgenError(f"{path}: cannot read the revision: {exc}") from exc
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in names:
                try:
                    found[target.id] = ast.literal_eval(value)
                except ValueError as exc:
                    raise UowgenError(
                        f"{path}: `{target.id}` is not a literal"
                    ) from exc
    return found
