"""In a terminal, `uowgen new` and `add-model` ask model by model, in shorthand."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from uowgen import load_spec

pytestmark = pytest.mark.slow


def in_terminal(args: list[str], answers: list[str], cwd: Path) -> tuple[int, str]:
    """Run uowgen on a pseudo-terminal, typing `answers` (a line each)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "uowgen", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        close_fds=True,
    )
    os.close(slave)
    os.write(master, "".join(f"{answer}\n" for answer in answers).encode())
    output = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closed: the program ended
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    os.close(master)
    try:
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return code, output.decode(errors="replace")


def test_new_asks_model_by_model_and_checks_each_answer(tmp_path: Path) -> None:
    answers = [
        "Notes",
        "Note",
        "body:text",
        "",
        "Tag",
        "label:strng",  # refused on the spot: an unknown type
        "label:str:unique",
        "note:ref:Note:cascade",
        "",
        "",
        "",  # no admin
        "",  # no auth
    ]

    code, output = in_terminal(["new", "notes"], answers, tmp_path)

    assert code == 0, output
    assert "unknown type 'strng'" in output
    spec = load_spec(tmp_path / "notes" / "uowgen.yml")
    assert spec.project_name == "Notes"
    assert [model.name for model in spec.models] == ["Note", "Tag"]
    assert [field.name for field in spec.models[1].fields] == ["label", "note"]
    assert not spec.admin
    assert spec.auth is None


def test_new_asks_for_auth_its_user_model_and_registration(tmp_path: Path) -> None:
    answers = [
        "Members",
        "Member",
        "email:str:unique",
        "",
        "Note",
        "body:text",
        "",
        "",
        "",  # no admin
        "y",  # auth
        "Memberr",  # refused on the spot: no such model
        "Note",
        "y",  # registration: refused (Note has no email); auth is asked again
        "y",
        "Member",
        "y",
    ]

    code, output = in_terminal(["new", "members"], answers, tmp_path)

    assert code == 0, output
    assert "no model is named 'Memberr'" in output
    assert "needs a unique `email` field of type str on 'Note'" in output
    spec = load_spec(tmp_path / "members" / "uowgen.yml")
    assert spec.auth is not None
    assert (spec.auth.user_model, spec.auth.registration) == ("Member", True)
    assert (tmp_path / "members" / "src" / "members" / "auth" / "users.py").is_file()


def test_add_model_without_fields_asks_for_them(tmp_path: Path) -> None:
    made, output = in_terminal(
        ["new", "app"], ["App", "Note", "body:text", "", "", "y", ""], tmp_path
    )
    assert made == 0, output

    code, output = in_terminal(
        ["add-model", "Tag", "--project", "app"], ["label:str", ""], tmp_path
    )

    assert code == 0, output
    spec = load_spec(tmp_path / "app" / "uowgen.yml")
    assert [model.name for model in spec.models] == ["Note", "Tag"]
    assert (tmp_path / "app" / "src" / "app" / "models" / "tag.py").is_file()
    # Asked at `new` ("y"): the admin, and now a view of the added model too.
    assert spec.admin
    views = (tmp_path / "app" / "src" / "app" / "admin" / "views.py").read_text()
    assert "class TagAdmin(ModelAdmin):" in views
