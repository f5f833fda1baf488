"""Hypothesis: random valid specs render code that lints, type-checks and maps."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings

from tests.strategies import valid_specs
from uowgen import generate, parse_spec

pytestmark = pytest.mark.slow

# Imports the app, configures every mapper and builds the schema on in-memory SQLite:
# relationship, foreign-key and naming mistakes fail here.
SMOKE = """
import sqlalchemy as sa
from sqlalchemy.orm import configure_mappers
from {package}.main import create_app
from {package}.models import Base
create_app()
configure_mappers()
Base.metadata.create_all(sa.create_engine("sqlite://"))
"""


# One mypy cache for all examples: the libraries are analysed once, each project fast.
MYPY_CACHE = Path(tempfile.gettempdir()) / "uowgen-random-render-mypy-cache"


def check(command: list[str], project: Path) -> None:
    result = subprocess.run(
        command, cwd=project, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@settings(
    deadline=None,
    max_examples=8,
    # Each example renders a project (about 2 s): report failures unshrunk.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(valid_specs())
def test_random_specs_render_clean_importable_projects(data: dict[str, Any]) -> None:
    spec = parse_spec(data)
    with TemporaryDirectory() as scratch:
        project = generate(spec, Path(scratch) / "app")
        for path in project.rglob("*.py"):
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
        check(
            [sys.executable, "-m", "ruff", "check", "--no-cache", "--quiet", "."],
            project,
        )
        check(
            [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(MYPY_CACHE),
             "src", "tests"],
            project,
        )  # fmt: skip
        smoke = subprocess.run(
            [sys.executable, "-c", SMOKE.format(package=spec.package)],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
            env={"PYTHONPATH": str(project / "src"), "PATH": "/usr/bin:/bin"},
        )
        assert smoke.returncode == 0, smoke.stderr
        kept = yaml.safe_load((project / "uowgen.yml").read_text(encoding="utf-8"))
        # The kept spec omits a package_name equal to the derived one.
        back = parse_spec(kept)
        assert back.package == spec.package
        assert back.model_copy(update={"package_name": spec.package_name}) == spec
