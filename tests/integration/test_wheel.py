"""`pip install` of the wheel carries the template: `uowgen new` needs no checkout."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from uowgen import generate, load_spec

pytestmark = pytest.mark.slow


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, check=False, timeout=900
    )
    assert result.returncode == 0, (
        f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    )
    return result


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_installed_wheel_generates_the_same_project(tmp_path: Path) -> None:
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            "dist",
            str(REPO),
        ],
        tmp_path,
    )
    wheel = next((tmp_path / "dist").glob("uowgen-*.whl"))
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    run([str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)], tmp_path)
    spec = REPO / "examples" / "fastbot.yml"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    result = run(
        [str(venv / "bin" / "uowgen"), "new", "app", "--spec", str(spec)], elsewhere
    )

    assert "Created" in result.stdout
    installed = elsewhere / "app"
    # As `uowgen new --spec` does: the spec's own key order kept in uowgen.yml.
    written = yaml.safe_load(spec.read_text(encoding="utf-8"))["models"]
    checkout = generate(load_spec(spec), tmp_path / "from-checkout", written=written)
    assert tree(installed) == tree(checkout)
    assert not any("__pycache__" in path for path in tree(installed))
    differing = [
        path
        for path in tree(installed)
        if path != ".copier-answers.yml"
        and not filecmp.cmp(installed / path, checkout / path, shallow=False)
    ]
    assert differing == []
