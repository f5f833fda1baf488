"""What a render writes for its owner to edit: `uowgen.yml` as the spec was written,
and a README that a model appended to the spec (`uowgen add-model`) only adds to."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from uowgen._cli.commands import app
from uowgen._render.engine import render_trees
from uowgen._spec.validate import parse_spec

TEMPLATE = Path(__file__).resolve().parents[2] / "template"
# The comment the template writes above the spec in uowgen.yml.
HEADER_LINES = "".join(
    line
    for line in (TEMPLATE / "uowgen.yml.jinja").read_text().splitlines(True)
    if line.startswith("#")
)
# Keys in the documented order (docs/spec.md) but for the pydantic model's, and an
# enum line longer than any wrap width.
LEVELS = ", ".join(f"level_{n}" for n in range(16))
WRITTEN = f"""\
project_name: Courses
models:
  - name: Course
    fields:
      - {{name: title, type: str, max_length: 200, optional: true}}
      - {{name: level, type: enum, values: [{LEVELS}], default: level_0}}
      - {{name: code, type: str, unique: true, max_length: 12}}
  - name: Lesson
    fields:
      - {{name: course, type: ref, to: Course, optional: true, on_delete: set_null}}
"""


def test_new_writes_a_spec_in_the_documented_key_order_as_written(
    tmp_path: Path,
) -> None:
    """A spec copied from a project's uowgen.yml makes a project with the same file."""
    assert max(len(line) for line in WRITTEN.splitlines()) > 120
    spec = tmp_path / "courses.yml"
    spec.write_text(HEADER_LINES + WRITTEN, encoding="utf-8")

    result = CliRunner().invoke(app, ["new", str(tmp_path / "p"), "--spec", str(spec)])

    assert result.exit_code == 0, result.output
    assert (tmp_path / "p" / "uowgen.yml").read_bytes() == spec.read_bytes()


def thing(index: int) -> dict[str, Any]:
    fields: list[dict[str, Any]] = [
        {"name": "title", "type": "str", "max_length": 80},
        {"name": "note", "type": "text", "optional": True},
        {"name": "count", "type": "int", "default": 0},
    ]
    if index:
        fields.append({"name": "parent", "type": "ref", "to": f"Thing{index - 1}"})
    return {"name": f"Thing{index}", "fields": fields}


def test_a_model_appended_to_30_only_adds_lines_to_the_readme() -> None:
    """The issue's case: no model had a unique text field, and the new one has."""
    models = [thing(i) for i in range(30)]
    tag = {
        "name": "Tag",
        "fields": [
            {"name": "name", "type": "str", "unique": True},
            {"name": "thing", "type": "ref", "to": "Thing0"},
        ],
    }
    specs = [
        parse_spec({"project_name": "Things", "models": listed})
        for listed in (models, [*models, tag])
    ]

    before, after = (
        tree["README.md"].decode().splitlines(True) for tree in render_trees(*specs)
    )

    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    assert [op[0] for op in changes] == ["insert"]
    _, _, _, start, end = changes[0]
    [row] = after[start:end]
    assert row.startswith("| `POST /tags`")
    assert "register_thing0(" in "".join(after)
