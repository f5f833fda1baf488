"""Plain `copier copy` of this template and `uowgen new` give the same project.

Copier renders the last commit of a template that sits in a git repository, so the
template (with uowgen's sources in `src/`, where the copier extension finds them) is
copied into a scratch folder first: these tests see the working tree, committed or not.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import REPO, copy_template
from uowgen._cli.commands import app

EXAMPLES = REPO / "examples"
# Only the venv on PATH: copier, its tasks' python and ruff come from there.
ENV = {"PATH": str(Path(sys.executable).parent), "PYTHONDONTWRITEBYTECODE": "1"}
PLACEHOLDER = "<path-or-git-url-of-this-repo>"


@pytest.fixture(scope="module")
def template_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as plain files, outside any git repository."""
    return copy_template(tmp_path_factory.mktemp("template") / "uowgen")


def copier_copy(
    template: Path, data_file: Path, dst: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--trust",
            "--defaults",
            "--data-file",
            str(data_file),
            str(template),
            str(dst),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=ENV,
    )


def readme_copier_command(template: Path) -> list[str]:
    """The README's plain-copier command as a shell splits it, for `template`.

    Only the placeholder for this repository's path changes, and `copier` is the
    venv's own executable.
    """
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    [line] = [line for line in readme.splitlines() if line.startswith("copier copy ")]
    command = shlex.split(line)
    assert command[0] == "copier"
    assert PLACEHOLDER in command
    return [
        str(Path(sys.executable).parent / "copier"),
        *(str(template) if arg == PLACEHOLDER else arg for arg in command[1:]),
    ]


def run_readme_command(
    template: Path, spec: Path, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run the README's command in `cwd` with `spec` as its `models.yml`, no terminal."""
    cwd.mkdir(exist_ok=True)
    shutil.copy2(spec, cwd / "models.yml")
    return subprocess.run(
        readme_copier_command(template),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=ENV,
    )


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root by relative path, minus the template's own location."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            content = path.read_bytes()
            if path.name == ".copier-answers.yml":
                content = b"".join(
                    line
                    for line in content.splitlines(keepends=True)
                    if not line.startswith(b"_src_path:")
                )
            files[str(path.relative_to(root))] = content
    return files


# shop.yml sets package_name; minimal.yml leaves it to be derived from project_name.
@pytest.fixture(scope="module", params=["shop.yml", "minimal.yml"])
def example(request: pytest.FixtureRequest) -> Path:
    return EXAMPLES / str(request.param)


@pytest.fixture(scope="module")
def renders(
    example: Path,
    template_copy: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path]:
    """The same example rendered by plain copier and by `uowgen new`."""
    spec = example
    root = tmp_path_factory.mktemp(spec.stem)
    by_copier = root / "copier"
    done = copier_copy(template_copy, spec, by_copier)
    assert done.returncode == 0, done.stderr
    by_uowgen = root / "uowgen"
    result = CliRunner().invoke(app, ["new", str(by_uowgen), "--spec", str(spec)])
    assert result.exit_code == 0, result.output
    return by_copier, by_uowgen


def test_plain_copier_and_uowgen_new_render_the_same_files(
    renders: tuple[Path, Path],
) -> None:
    copier_tree, uowgen_tree = (tree(root) for root in renders)
    assert sorted(copier_tree) == sorted(uowgen_tree)
    assert "uowgen.yml" in copier_tree
    assert ".copier-answers.yml" in copier_tree
    different = [
        name
        for name in copier_tree
        if name != ".copier-answers.yml" and copier_tree[name] != uowgen_tree[name]
    ]
    assert different == []


def test_plain_copier_and_uowgen_new_record_the_same_answers(
    renders: tuple[Path, Path],
) -> None:
    by_copier, by_uowgen = renders
    answers = [tree(root)[".copier-answers.yml"] for root in renders]
    assert answers[0] == answers[1]
    assert b"_src_path:" in (by_copier / ".copier-answers.yml").read_bytes()
    # uowgen records no machine path: the version is what `uowgen update` needs.
    recorded = (by_uowgen / ".copier-answers.yml").read_text()
    assert "_src_path:" not in recorded
    assert str(by_uowgen.parent) not in recorded
    assert "_uowgen_version: " in recorded


def test_the_readme_copier_command_works_without_a_terminal(
    example: Path,
    renders: tuple[Path, Path],
    template_copy: Path,
    tmp_path: Path,
) -> None:
    done = run_readme_command(template_copy, example, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Interactive session required" not in done.stdout + done.stderr
    _, by_uowgen = renders
    assert tree(tmp_path / "myapp") == tree(by_uowgen)


def test_the_readme_copier_command_still_validates_a_given_package_name(
    template_copy: Path, tmp_path: Path
) -> None:
    spec = tmp_path / "bad.yml"
    spec.write_text(
        (EXAMPLES / "minimal.yml").read_text(encoding="utf-8")
        + "package_name: Not-A-Package\n",
        encoding="utf-8",
    )
    done = run_readme_command(template_copy, spec, tmp_path / "work")
    assert done.returncode != 0
    assert "'Not-A-Package' is not a valid lower-case Python package name" in (
        done.stdout + done.stderr
    )
    assert not (tmp_path / "work" / "myapp").exists()


def test_plain_copier_refuses_an_invalid_spec_and_creates_nothing(
    template_copy: Path, tmp_path: Path
) -> None:
    spec = tmp_path / "bad.yml"
    spec.write_text(
        "project_name: App\n"
        "models:\n"
        "  - name: User\n"
        "    fields:\n"
        "      - {name: id, type: int}\n",
        encoding="utf-8",
    )
    dst = tmp_path / "project"
    done = copier_copy(template_copy, spec, dst)
    assert done.returncode != 0
    assert "model 'User', field 'id': name is reserved" in done.stdout + done.stderr
    assert not dst.exists()
