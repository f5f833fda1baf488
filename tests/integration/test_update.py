"""Upgrading a project made by an earlier uowgen: `uowgen update` and `copier update`.

The earlier version is a real release: the 0.2.0 wheel in tests/fixtures/releases,
built from its git tag, which renders with its own template and its own code. The
folder doubles as a package index (`pip --find-links`), as PyPI would serve it.
"""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO
from tests.helpers import FASTBOT_EDITS, check_project, copy_template, run
from uowgen._cli.commands import app
from uowgen._spec.validate import parse_spec_text
from uowgen._version import __version__

pytestmark = pytest.mark.slow

RELEASES = REPO / "tests" / "fixtures" / "releases"
OLD = "0.2.0"
OLD_WHEEL = RELEASES / f"uowgen-{OLD}-py3-none-any.whl"
# examples/fastbot.yml as these releases read it (no `many`, `sortable`, `searchable`).
SPEC = RELEASES / "fastbot.yml"
# An applied migration is history: an update never rewrites it, whatever the
# template now writes for a new project's first one.
INITIAL = "migrations/versions/0001_initial.py"
SPEC_FILE = "uowgen.yml"

# Edits in several places, none on lines the template changed since 0.2.0.
APPENDED = FASTBOT_EDITS
OWN_SETTING = "    db_echo: bool = False\n"
OWN_SETTING_EDITED = OWN_SETTING + "    # Ours.\n    feature_flag: bool = False\n"
DELETED = "tests/e2e/test_commit_before_response.py"


def git(project: Path, *args: str) -> str:
    return run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], project)


def uowgen(project: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, [*args, "--project", str(project)])
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def old_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 0.2.0 wheel unpacked: its `uowgen` package with the template inside."""
    root = tmp_path_factory.mktemp("release")
    with zipfile.ZipFile(OLD_WHEEL) as wheel:
        wheel.extractall(root)
    return root


def render_old(old_release: Path, dst: Path) -> Path:
    """`uowgen new` as uowgen 0.2.0 runs it: its own code first on the path."""
    run(
        [sys.executable, "-m", "uowgen", "new", str(dst), "--spec", str(SPEC)],
        dst.parent,
        PYTHONPATH=str(old_release),
    )
    assert f"_uowgen_version: {OLD}" in (dst / ".copier-answers.yml").read_text()
    git(dst, "init", "-q")
    git(dst, "add", "-A")
    git(dst, "commit", "-qm", "rendered by uowgen 0.2.0")
    return dst


@pytest.fixture
def package_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """pip sees the fixture folder as the package index; the cache starts empty."""
    monkeypatch.setenv("PIP_FIND_LINKS", str(RELEASES))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("UOWGEN_CACHE_DIR", str(tmp_path / "cache"))
    yield tmp_path / "cache"


def tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def assert_own_spec_kept(
    got: dict[str, bytes], expected: dict[str, bytes], before: bytes
) -> None:
    """uowgen.yml is its owner's: an update leaves it as it was.

    Its layout may differ from what this version writes for a new project (0.5.0
    keeps the keys in their written order and wraps no line); the spec is the same.
    """
    kept, written = got.pop(SPEC_FILE), expected.pop(SPEC_FILE)
    assert kept == before
    assert parse_spec_text(kept.decode()).renders_like(
        parse_spec_text(written.decode())
    )


def test_update_from_the_previous_release_keeps_every_edit(
    old_release: Path,
    package_index: Path,
    tmp_path: Path,
    postgres_url: str,
) -> None:
    project = render_old(old_release, tmp_path / "fastbot")
    initial = (project / INITIAL).read_bytes()
    for path, extra in APPENDED.items():
        with (project / path).open("a", encoding="utf-8") as file:
            file.write(extra)
    settings = project / "src/fastbot/settings.py"
    settings.write_text(settings.read_text().replace(OWN_SETTING, OWN_SETTING_EDITED))
    (project / DELETED).unlink()
    # A setting under its old name, in the .env file the generated .gitignore keeps
    # out of git: the upgrade step renames it.
    (project / ".env").write_text("DB_CONNECT_TIMEOUT=7\nDB_ECHO=false\n")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "our edits")
    spec_text = (project / SPEC_FILE).read_bytes()

    pretend = uowgen(project, "update", "--pretend")
    assert "+DB_CONNECT_TIMEOUT_S=7" in pretend
    assert "--pretend: nothing was written" in pretend
    assert git(project, "status", "--porcelain") == ""

    out = uowgen(project, "update")
    assert f"from uowgen {OLD} to {__version__}" in out
    assert "the package index" in out and "CONFLICT" not in out
    assert (package_index / "releases" / f"uowgen-{OLD}").is_dir()

    # Everything is what this version renders, but for the edits, which are all there.
    fresh = tmp_path / "fresh"
    uowgen_new = CliRunner().invoke(app, ["new", str(fresh), "--spec", str(SPEC)])
    assert uowgen_new.exit_code == 0, uowgen_new.output
    expected, got = tree(fresh), tree(project)
    expected.pop(DELETED)
    expected.pop(INITIAL)
    assert got.pop(INITIAL) == initial
    for path, extra in APPENDED.items():
        assert got[path].endswith(extra.encode()), path
        assert got.pop(path) == expected.pop(path) + extra.encode(), path
    assert got.pop("src/fastbot/settings.py") == expected.pop(
        "src/fastbot/settings.py"
    ).replace(OWN_SETTING.encode(), OWN_SETTING_EDITED.encode())
    assert got.pop(".env") == b"DB_CONNECT_TIMEOUT_S=7\nDB_ECHO=false\n"
    assert_own_spec_kept(got, expected, spec_text)
    assert got == expected  # the answers file too: this version, no machine path

    # A second update has nothing to do; the project passes `uowgen check`, its
    # own checks, and its tests on SQLite and on PostgreSQL.
    assert "nothing to do" in uowgen(project, "update")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "uowgen update")
    uowgen(project, "check")
    check_project(project)
    out = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        project,
        TEST_DATABASE_URL=postgres_url,
    )
    assert " passed" in out and " failed" not in out


def test_a_conflicting_edit_is_marked_listed_and_fails_check_until_resolved(
    old_release: Path, tmp_path: Path
) -> None:
    project = render_old(old_release, tmp_path / "fastbot")
    settings = project / "src/fastbot/settings.py"
    ours = settings.read_text().replace(
        "db_pool_timeout: float = 10.0", "db_pool_timeout: float = 30.0"
    )
    settings.write_text(ours)
    git(project, "commit", "-qam", "a longer pool timeout")

    out = uowgen(project, "update", "--from", str(OLD_WHEEL), code=1)
    assert "CONFLICT   src/fastbot/settings.py" in out
    assert "Conflicts:" in out
    merged = settings.read_text()
    assert "<<<<<<< yours" in merged and ">>>>>>> new render" in merged
    assert "db_pool_timeout: float = 30.0" in merged
    assert (project / ".uowgen-conflicts").read_text() == "src/fastbot/settings.py\n"

    checked = uowgen(project, "check", code=1)
    assert "src/fastbot/settings.py:" in checked
    # Nothing else builds on an unresolved merge.
    assert "resolve the conflicts" in uowgen(project, "sync", code=2)

    # Resolved: the new render's lines with our value, markers and list gone.
    start, end = merged.index("<<<<<<<"), merged.index(">>>>>>> new render\n")
    theirs = merged[merged.index("=======\n", start) + 8 : end]
    resolved = merged[:start] + theirs.replace("10.0,", "30.0,") + merged[end + 19 :]
    settings.write_text(resolved)
    (project / ".uowgen-conflicts").unlink()
    assert "db_pool_timeout_s: float = Field(\n        30.0" in settings.read_text()
    git(project, "add", "-A")
    git(project, "commit", "-qm", "resolved")
    uowgen(project, "check")
    check_project(project, "src")


def test_update_refuses_a_dirty_tree_and_the_wrong_release(
    old_release: Path, tmp_path: Path
) -> None:
    project = render_old(old_release, tmp_path / "fastbot")
    (project / "src/fastbot/db.py").write_text("# uncommitted work\n")
    out = uowgen(project, "update", "--from", str(old_release), code=2)
    assert "src/fastbot/db.py" in out and "uncommitted" in out
    assert (project / "src/fastbot/db.py").read_text() == "# uncommitted work\n"
    git(project, "checkout", "--", ".")

    # A checkout of this version is not the release that rendered the project.
    out = uowgen(project, "update", "--from", str(REPO), code=2)
    assert f"holds uowgen {__version__}" in out and f"rendered by uowgen {OLD}" in out
    out = uowgen(project, "update", "--from", str(tmp_path / "missing.whl"), code=2)
    assert "no such file or folder" in out
    assert git(project, "status", "--porcelain") == ""


def test_an_unreachable_index_is_a_clear_error(
    old_release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = render_old(old_release, tmp_path / "fastbot")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "empty"))
    monkeypatch.setenv("UOWGEN_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "empty").mkdir()
    out = uowgen(project, "update", code=2)
    assert f"cannot fetch uowgen=={OLD} from the package index" in out
    assert "--from" in out
    assert git(project, "status", "--porcelain") == ""


# The generator code of the newer tag differs from the installed one, so a render
# that used the wrong `uowgen` (the first one imported) shows in the README.
MARK = "Rendered with the context of the newer tag."
CONTEXT_PATCH = f"""

_unmarked_markdown = markdown


def markdown(value: str) -> str:  # noqa: F811
    return _unmarked_markdown(value) + " <!-- " + {MARK!r} + " -->"
"""


@pytest.fixture(scope="module")
def template_repo(old_release: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of this template with two tags: v0.2.0 and this version.

    The newer tag's `_render/context.py` differs from every installed uowgen's.
    """
    repo = tmp_path_factory.mktemp("template-repo")
    run(["git", "init", "-q"], repo)
    bundled = old_release / "uowgen" / "_template"
    shutil.copytree(bundled, repo, dirs_exist_ok=True)
    shutil.copytree(
        old_release / "uowgen",
        repo / "src" / "uowgen",
        ignore=shutil.ignore_patterns("_template"),
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"uowgen {OLD}")
    git(repo, "tag", f"v{OLD}")
    git(repo, "rm", "-rqf", ".")
    copy_template(repo)
    context = repo / "src" / "uowgen" / "_render" / "context.py"
    context.write_text(context.read_text() + CONTEXT_PATCH)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"uowgen {__version__}")
    git(repo, "tag", f"v{__version__}")
    return repo


def copier(*args: str, cwd: Path) -> str:
    return run(
        [sys.executable, "-m", "copier", *args, "--trust", "--defaults", "--quiet"],
        cwd,
    )


def test_plain_copier_update_renders_each_tag_with_its_own_code(
    template_repo: Path, tmp_path: Path
) -> None:
    project = tmp_path / "by-copier"
    copier("copy", "--vcs-ref", f"v{OLD}", "--data-file", str(SPEC),
           str(template_repo), str(project), cwd=tmp_path)  # fmt: skip
    assert f"_commit: v{OLD}" in (project / ".copier-answers.yml").read_text()
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "made by copier")
    initial = (project / INITIAL).read_bytes()
    for path, extra in APPENDED.items():
        with (project / path).open("a", encoding="utf-8") as file:
            file.write(extra)
    git(project, "commit", "-qam", "our edits")

    # One copier process renders both tags: each must use its own generator code.
    copier("update", cwd=project)
    assert MARK in (project / "README.md").read_text()
    fresh = tmp_path / "fresh"
    copier("copy", "--vcs-ref", f"v{__version__}", "--data-file", str(SPEC),
           str(template_repo), str(fresh), cwd=tmp_path)  # fmt: skip
    expected, got = tree(fresh), tree(project)
    expected.pop(INITIAL)
    assert got.pop(INITIAL) == initial  # copier's _skip_if_exists
    # copier renders uowgen.yml from the recorded answers, in the key order the old
    # release recorded them in: the same spec, written as that answers file has it.
    assert parse_spec_text(got.pop("uowgen.yml").decode()).renders_like(
        parse_spec_text(expected.pop("uowgen.yml").decode())
    )
    for path, extra in APPENDED.items():
        assert got.pop(path) == expected.pop(path) + extra.encode(), path
    assert got == expected


def test_uowgen_update_takes_the_old_template_from_the_recorded_git_url(
    template_repo: Path, tmp_path: Path
) -> None:
    project = tmp_path / "by-copier"
    copier("copy", "--vcs-ref", f"v{OLD}", "--data-file", str(SPEC),
           str(template_repo), str(project), cwd=tmp_path)  # fmt: skip
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "made by copier")

    out = uowgen(project, "update")
    assert f"{template_repo} at v{OLD} (the project's _src_path and _commit)" in out
    answers = (project / ".copier-answers.yml").read_text()
    # Still on its git template, at the tag of this version: copier update works on.
    assert f"_commit: v{__version__}" in answers
    assert f"_src_path: {os.fspath(template_repo)!s}" in answers.replace('"', "")
    assert f"_uowgen_version: {__version__}" in answers
    assert "db_pool_timeout_s" in (project / "src/fastbot/settings.py").read_text()


PREVIOUS = "0.4.0"


@pytest.mark.usefixtures("package_index")
def test_update_from_the_release_before_this_one_keeps_every_edit(
    tmp_path: Path,
) -> None:
    """0.4.0 -> this version: no conflicts, every edit kept, the schema unchanged."""
    release = tmp_path / "release"
    with zipfile.ZipFile(RELEASES / f"uowgen-{PREVIOUS}-py3-none-any.whl") as wheel:
        wheel.extractall(release)
    project = tmp_path / "fastbot"
    run(
        [sys.executable, "-m", "uowgen", "new", str(project), "--spec", str(SPEC)],
        tmp_path,
        PYTHONPATH=str(release),
    )
    assert (
        f"_uowgen_version: {PREVIOUS}" in (project / ".copier-answers.yml").read_text()
    )
    initial = (project / INITIAL).read_bytes()
    for path, extra in APPENDED.items():
        with (project / path).open("a", encoding="utf-8") as file:
            file.write(extra)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", f"rendered by uowgen {PREVIOUS}, and our edits")
    spec_text = (project / SPEC_FILE).read_bytes()

    out = uowgen(project, "update")
    assert f"from uowgen {PREVIOUS} to {__version__}" in out
    assert "CONFLICT" not in out

    fresh = tmp_path / "fresh"
    uowgen_new = CliRunner().invoke(app, ["new", str(fresh), "--spec", str(SPEC)])
    assert uowgen_new.exit_code == 0, uowgen_new.output
    expected, got = tree(fresh), tree(project)
    expected.pop(INITIAL)
    assert got.pop(INITIAL) == initial
    for path, extra in APPENDED.items():
        assert got.pop(path) == expected.pop(path) + extra.encode(), path
    assert_own_spec_kept(got, expected, spec_text)
    assert got == expected
    git(project, "add", "-A")
    git(project, "commit", "-qm", "uowgen update")
    # The kept 0001 builds exactly the tables the new models declare (no drift).
    uowgen(project, "check")


LIBRARY = """\
project_name: Library
models:
  - name: Shelf
    fields:
      - {name: label, type: str, max_length: 40, unique: true}
  - name: Book
    fields:
      - {name: title, type: str}
      - {name: shelf, type: ref, to: Shelf, on_delete: cascade}
"""


@pytest.mark.usefixtures("package_index")
def test_an_update_keeps_the_tables_the_old_plural_rule_named(tmp_path: Path) -> None:
    """0.4.0 named Shelf's table `shelfs`; 0.5.0 says `shelves`, but not to it."""
    release = tmp_path / "release"
    with zipfile.ZipFile(RELEASES / f"uowgen-{PREVIOUS}-py3-none-any.whl") as wheel:
        wheel.extractall(release)
    (tmp_path / "library.yml").write_text(LIBRARY)
    project = tmp_path / "library"
    run(
        [sys.executable, "-m", "uowgen", "new", str(project), "--spec", "library.yml"],
        tmp_path,
        PYTHONPATH=str(release),
    )
    model = project / "src/library/models/shelf.py"
    assert '__tablename__ = "shelfs"' in model.read_text()
    before = (project / SPEC_FILE).read_text()
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", f"rendered by uowgen {PREVIOUS}")

    out = uowgen(project, "update")
    assert "0.5.0: plurals" in out and "CONFLICT" not in out

    # uowgen.yml gains Shelf's old plural, every other line as it was.
    assert (project / SPEC_FILE).read_text() == before.replace(
        "  - name: Shelf\n",
        "  - name: Shelf\n    plural: shelfs\n",
    )
    assert '__tablename__ = "shelfs"' in model.read_text()
    assert "plural: shelfs" in (project / ".copier-answers.yml").read_text()
    assert (
        'prefix="/shelfs"' in (project / "src/library/api/routes/shelf.py").read_text()
    )
    git(project, "add", "-A")
    git(project, "commit", "-qm", "uowgen update")
    # In step: no table to rename, and the kept 0001 still builds the models' tables.
    assert "nothing to do" in uowgen(project, "sync")
    uowgen(project, "check")
