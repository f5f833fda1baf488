"""Helpers shared by uowgen's tests: run a tool, copy the template out of git."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_IGNORED = shutil.ignore_patterns("__pycache__", "*.py[co]")

# A user's edits of a fastbot project, in several places, each appended to a file:
# a use case, a query, a comment, a README section (sync and update keep them).
# A spec with one many field (tags on articles), for the tests of tables of links.
BLOG_WITH_TAGS = """\
project_name: Blog
models:
  - name: Tag
    fields:
      - {name: label, type: str, unique: true}
  - name: Article
    fields:
      - {name: title, type: str}
      - {name: tags, type: many, to: Tag}
"""

FASTBOT_EDITS = {
    "src/fastbot/services/user.py": (
        "\n\nasync def count_users(uow: UnitOfWork) -> int:\n"
        '    """A use case of my own."""\n'
        "    async with uow.read() as tx:\n"
        "        return await tx.users.count()\n"
    ),
    "src/fastbot/repositories/user.py": (
        "\n    async def by_email(self, email: str) -> User | None:\n"
        '        """A query of my own."""\n'
        "        return await self.find_by(email=email)\n"
    ),
    "src/fastbot/errors.py": "\n\n# A note of mine about our errors.\n",
    "README.md": "\n## Our team's notes\n\nDeploy on Tuesdays.\n",
}


def run(command: list[str], cwd: Path, **env: str) -> str:
    """Run a tool of the dev environment in `cwd`; fail with its output.

    Returns what it printed (stdout, then stderr).
    """
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env},
        timeout=600,
    )
    assert result.returncode == 0, (
        f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout + result.stderr


def copy_template(root: Path) -> Path:
    """The template (copier.yml, template/, extensions/, src/) as plain files in
    `root`: copier renders a template inside git from its last commit, and the
    tests must render the working tree."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "copier.yml", root / "copier.yml")
    for name in ("template", "extensions"):
        shutil.copytree(REPO / name, root / name, ignore=_IGNORED)
    shutil.copytree(REPO / "src" / "uowgen", root / "src" / "uowgen", ignore=_IGNORED)
    return root


def check_project(project: Path, *paths: str, **env: str) -> str:
    """A generated project's own checks on `paths` (default: all of it): ruff check,
    ruff format --check and mypy --strict; then, for the whole project, its tests.

    Returns pytest's output (`env` reaches it: TEST_DATABASE_URL for PostgreSQL).
    """
    python = sys.executable
    targets = list(paths) or ["."]
    run([python, "-m", "ruff", "check", "--no-cache", *targets], project)
    run([python, "-m", "ruff", "format", "--no-cache", "--check", *targets], project)
    typed = list(paths) or ["src", "tests"]
    run([python, "-m", "mypy", "--strict", "--cache-dir", "/dev/null", *typed], project)
    if paths:
        return ""
    out = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, **env)
    assert " passed" in out and " failed" not in out, out
    return out
