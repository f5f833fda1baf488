"""`uowgen check` on a generated project: in step, then out of step in each way.

One project is rendered and committed per module; each test works on a copy. The
migration check runs as in CI: in this interpreter, which has the project's
dependencies (the `project` extra), against a scratch SQLite database.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO
from tests.helpers import BLOG_WITH_TAGS, run
from uowgen import generate, load_spec
from uowgen._cli.commands import app
from uowgen._version import __version__

pytestmark = pytest.mark.slow

RELEASE = REPO / "tests" / "fixtures" / "releases" / "uowgen-0.2.0-py3-none-any.whl"


def git(project: Path, *args: str) -> str:
    return run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], project)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fastbot example, rendered and committed once for the module."""
    root = generate(
        load_spec(REPO / "examples" / "fastbot.yml"),
        tmp_path_factory.mktemp("rendered") / "bot",
    )
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "generated")
    return root


@pytest.fixture
def project(rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the rendered project (its git repository included) for one test,
    as the current folder: paths are shown relative to it, as in CI."""
    copy = Path(shutil.copytree(rendered, tmp_path / "bot", symlinks=True))
    monkeypatch.chdir(copy)
    return copy


def check(project: Path, *args: str, code: int, **env: str) -> str:
    """Run `uowgen check` in `project`; its standard output."""
    result = CliRunner().invoke(
        app, ["check", "--project", str(project), *args], env=env
    )
    assert result.exit_code == code, result.output
    return result.stdout


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def lines_with(output: str, code: str) -> list[str]:
    return [line for line in output.splitlines() if f" {code} " in f" {line} "]


def test_a_fresh_project_is_in_step_and_the_check_writes_nothing(project: Path) -> None:
    data = json.loads(check(project, "--format", "json", code=0))
    assert data == {
        "schema": 1,
        "project": str(project.resolve()),
        "uowgen_version": __version__,  # as `uowgen --version` prints it
        "recorded_version": __version__,
        "latest_version": None,
        "ok": True,
        "findings": [],
    }
    assert git(project, "status", "--porcelain", "--ignored") == ""


def test_a_spec_edit_never_synced_asks_for_uowgen_sync(project: Path) -> None:
    spec = project / "uowgen.yml"
    spec.write_text(
        spec.read_text() + "      - {name: note, type: text, optional: true}\n"
    )
    [line] = lines_with(check(project, code=1), "UG201")
    assert line.startswith("uowgen.yml:")
    assert "VocabularySet: note added" in line
    assert "(fix: uowgen sync" in line


def test_an_older_template_version_asks_for_uowgen_update(project: Path) -> None:
    answers = project / ".copier-answers.yml"
    edit(answers, "_uowgen_version: ", "_uowgen_version: 0.2.0\n_was: ")
    output = check(project, code=1)
    [line] = lines_with(output, "UG101")
    assert line.startswith(".copier-answers.yml:")
    assert "0.2.0" in line
    assert line.endswith("(fix: uowgen update)")
    assert output.splitlines()[-1].startswith("1 finding: ")


def test_a_leftover_conflict_marker_is_reported_where_it_is(project: Path) -> None:
    service = project / "src/fastbot/services/user.py"
    before = len(service.read_text().splitlines())
    with service.open("a") as handle:
        handle.write("<<<<<<< yours\nmine = 1\n=======\ntheirs = 2\n>>>>>>> new\n")
    (project / ".uowgen-conflicts").write_text("src/fastbot/services/user.py\n")
    output = check(project, code=1)
    [marker] = lines_with(output, "UG401")
    assert marker.startswith(f"src/fastbot/services/user.py:{before + 1}: UG401 ")
    assert "delete .uowgen-conflicts" in marker
    [listed] = lines_with(output, "UG403")
    assert listed.startswith(".uowgen-conflicts: UG403 ")


def test_a_rej_file_is_reported(project: Path) -> None:
    (project / "README.md.rej").write_text("@@ -1 +1 @@\n-old\n+new\n")
    [line] = lines_with(check(project, code=1), "UG402")
    assert line.startswith("README.md.rej: UG402 ")
    assert "delete README.md.rej" in line


def test_a_model_added_by_hand_without_a_migration_is_drift(project: Path) -> None:
    (project / "src/fastbot/models/badge.py").write_text(
        '"""A model of my own."""\n\n'
        "from sqlalchemy import String\n"
        "from sqlalchemy.orm import Mapped, mapped_column\n\n"
        "from fastbot.models.base import Base\n\n\n"
        "class Badge(Base):\n"
        '    __tablename__ = "badges"\n\n'
        "    label: Mapped[str] = mapped_column(String(40))\n"
    )
    edit(
        project / "src/fastbot/models/__init__.py",
        "from fastbot.models.base import Base\n",
        "from fastbot.models.base import Base\nfrom fastbot.models.badge import Badge\n",
    )
    output = check(project, code=1)
    # Only the drift: the user's own model is not wiring uowgen reports.
    [line] = [line for line in output.splitlines() if " UG" in f" {line}"]
    assert line.startswith("src/fastbot/models/badge.py:9: UG501 table badges ")
    assert 'alembic revision --autogenerate -m "add table badges"' in line


def test_a_deleted_registry_line_is_reported_with_the_line_to_restore(
    project: Path,
) -> None:
    registry = project / "src/fastbot/repositories/registry.py"
    edit(registry, "        self.users = UserRepository(session)\n", "")
    [line] = lines_with(check(project, code=1), "UG301")
    assert line.startswith("src/fastbot/repositories/registry.py:")
    assert "restore `self.users = UserRepository(session)`" in line


def test_every_finding_of_one_run_as_github_annotations(project: Path) -> None:
    (project / "uowgen.yml").write_text("project_name: Fastbot\nmodels: [\n")
    (project / "src/fastbot/api/router.py").unlink()
    (project / "migrations/versions/0001_initial.py").write_text(
        (project / "migrations/versions/0001_initial.py")
        .read_text()
        .replace("def upgrade() -> None:\n", "def upgrade() -> None:\n    1 / 0\n")
    )
    output = check(project, "--format", "github", code=1)
    annotations = [line for line in output.splitlines() if line.startswith("::")]
    titles = [line.split("title=")[1].split("::")[0] for line in annotations]
    assert titles == [
        "UG202 spec-invalid",
        "UG303 wiring-file-missing",
        "UG502 migration-failed",
    ]
    assert annotations[0].startswith("::error file=uowgen.yml,line=3,")
    assert annotations[1].startswith("::error file=src/fastbot/api/router.py,title=")
    assert annotations[2].startswith(
        "::error file=migrations/versions/0001_initial.py,line="
    )
    assert "ZeroDivisionError" in annotations[2]


def test_outside_a_project_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--project", str(tmp_path)])
    assert result.exit_code == 2
    assert "not inside a uowgen project" in result.output


def bare_venv(path: Path) -> Path:
    """A virtual environment with nothing installed (not even pip); its python."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(path)],
        check=True,
        capture_output=True,
    )
    return path / "bin" / "python"


def test_a_python_without_the_project_fails_the_gate_with_ug504(
    project: Path, tmp_path: Path
) -> None:
    python = bare_venv(tmp_path / "bare")
    output = check(project, "--python", str(python), code=1)
    # The one finding: the migrations are not blamed, the other checks still pass.
    [line] = [line for line in output.splitlines() if " UG" in f" {line}"]
    assert line.startswith(f"UG504 the project is not installed in --python {python}")
    assert "fastapi" in line and "alembic" in line
    assert f"(fix: install it there (`{python} -m pip install -e '.[dev]'`)" in line
    data = json.loads(
        check(project, "--python", str(python), "--format", "json", code=1)
    )
    [item] = data["findings"]
    assert (item["code"], item["kind"], item["docs"]) == (
        "UG504",
        "project-not-installed",
        "docs/check/UG504.md",
    )


def test_a_venv_the_project_was_never_installed_into_is_ug504(project: Path) -> None:
    bare_venv(project / ".venv")
    [line] = lines_with(check(project, code=1), "UG504")
    assert "not installed in its .venv (.venv/bin/python)" in line
    assert "(fix: install it: `.venv/bin/pip install -e '.[dev]'`" in line


def test_a_python_that_is_not_an_executable_file_is_a_usage_error(
    project: Path, tmp_path: Path
) -> None:
    for python, why in [
        ("/nonexistent", "no such file"),
        (tmp_path, "not an executable"),
    ]:
        result = CliRunner().invoke(
            app, ["check", "--project", str(project), "--python", str(python)]
        )
        assert result.exit_code == 2, result.output
        assert f"--python {python}: {why}" in result.stderr
        assert "`uowgen check --python .venv/bin/python`" in result.stderr
        assert result.stdout == ""


def test_latest_asks_the_package_index(project: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    shutil.copy(RELEASE, index / "uowgen-9.0.0-py3-none-any.whl")
    output = check(
        project,
        "--latest",
        "--format",
        "json",
        code=1,
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(index),
    )
    data = json.loads(output)
    assert data["latest_version"] == "9.0.0"
    [item] = data["findings"]
    assert (item["code"], item["kind"]) == ("UG104", "release-available")
    assert item["fix"] == "pip install -U uowgen && uowgen update"


def test_latest_with_an_unreachable_index_is_a_clear_error(
    project: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["check", "--project", str(project), "--latest"],
        env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path / "nowhere")},
    )
    assert result.exit_code == 2, result.output
    assert "cannot learn uowgen's newest release" in result.output
    assert "No matching distribution" in result.output


# --- tables of links ------------------------------------------------------------------


@pytest.fixture(scope="module")
def linked_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with a many field (a table of links), rendered and committed."""
    spec = tmp_path_factory.mktemp("spec") / "blog.yml"
    spec.write_text(BLOG_WITH_TAGS)
    root = generate(load_spec(spec), tmp_path_factory.mktemp("linked") / "blog")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "generated")
    return root


@pytest.fixture
def linked(
    linked_render: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    copy = Path(shutil.copytree(linked_render, tmp_path / "blog", symlinks=True))
    monkeypatch.chdir(copy)
    return copy


# The line that names the table of links' second column.
TAG_ID = '"tag_id",'


def line_of(path: Path, text: str) -> int:
    lines = path.read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_a_project_with_a_table_of_links_is_in_step(linked: Path) -> None:
    assert (
        check(linked, code=0)
        .splitlines()[-1]
        .endswith(f"is in step with uowgen {__version__} and uowgen.yml")
    )


def test_migrations_without_the_table_of_links_are_drift_at_its_table(
    linked: Path,
) -> None:
    initial = linked / "migrations/versions/0001_initial.py"
    text = initial.read_text()
    start = text.index('    op.create_table(\n        "articles_tags"')
    end = text.index("\n\n\ndef downgrade")
    initial.write_text(text[:start].rstrip() + text[end:])
    model = linked / "src/blog/models/article.py"

    table, column = line_of(model, "articles_tags = Table("), line_of(model, TAG_ID)
    fix = '(fix: alembic revision --autogenerate -m "add table articles_tags")'

    lines = lines_with(check(linked, code=1), "UG501")

    where = "src/blog/models/article.py"
    assert lines == [
        (
            f"{where}:{table}: UG501 table articles_tags is in the models but no "
            f"migration creates it {fix}"
        ),
        (
            f"{where}:{column}: UG501 index ix_articles_tags_tag_id (tag_id) on "
            f"articles_tags is in the models only {fix}"
        ),
    ]


def test_a_hand_edited_table_of_links_is_drift_at_its_column(linked: Path) -> None:
    model = linked / "src/blog/models/article.py"
    edit(
        model,
        "        primary_key=True,\n        index=True,\n",
        "        primary_key=True,\n",
    )

    [line] = lines_with(check(linked, code=1), "UG501")

    assert line.startswith(
        f"src/blog/models/article.py:{line_of(model, TAG_ID)}: UG501 index "
        "ix_articles_tags_tag_id (tag_id) on articles_tags is in the migrations only"
    )


def test_a_many_field_added_to_the_spec_and_never_synced_asks_for_sync(
    linked: Path,
) -> None:
    spec = linked / "uowgen.yml"
    edit(
        spec,
        "      - {name: label, type: str, unique: true}\n",
        "      - {name: label, type: str, unique: true}\n"
        "      - {name: related, type: many, to: Tag}\n",
    )

    [line] = lines_with(check(linked, code=1), "UG201")

    assert "Tag: related added" in line and "(fix: uowgen sync" in line
