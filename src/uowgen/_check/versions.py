"""UG1xx: the template version that rendered the project, against this uowgen.

With `latest=True`, also against the newest release on the package index.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Final

from packaging.version import InvalidVersion, Version

from uowgen._check.findings import Finding, finding, read_text
from uowgen._evolve.project import VERSION_KEY, Project
from uowgen._render.answers import ANSWERS_FILE
from uowgen._version import __version__
from uowgen.errors import UowgenError

# How long the package index may take before giving up.
INDEX_TIMEOUT_S: Final = 120


def version_findings(
    installed: str,
    recorded: str | None,
    *,
    latest: str | None = None,
    line: int | None = None,
) -> list[Finding]:
    """Compare the installed uowgen, the recorded one and the newest release.

    Args:
        installed: This uowgen's version.
        recorded: `_uowgen_version` of the project's answers (None: not recorded).
        latest: The newest release on the package index, when it was asked.
        line: The line of `_uowgen_version` in the answers file.

    Returns:
        The findings, in the order UG101-UG104.
    """
    found: list[Finding] = []
    mine = Version(installed)
    theirs: Version | None = None
    if recorded is None:
        found.append(
            finding(
                "version-unrecorded",
                f"{ANSWERS_FILE} does not record the uowgen version that rendered "
                f"the project ({VERSION_KEY})",
                f"add `{VERSION_KEY}: <that version>` to {ANSWERS_FILE}, then "
                "`uowgen update`",
                ANSWERS_FILE,
            )
        )
    else:
        try:
            theirs = Version(recorded)
        except InvalidVersion:
            found.append(
                finding(
                    "version-unrecorded",
                    f"{VERSION_KEY} in {ANSWERS_FILE} is {recorded!r}, not a version",
                    f"set `{VERSION_KEY}` to the uowgen version that rendered the "
                    "project, then `uowgen update`",
                    ANSWERS_FILE,
                    line,
                )
            )
    if theirs is not None and theirs < mine:
        found.append(
            finding(
                "template-behind",
                f"the project was rendered by uowgen {recorded}'s template; this is "
                f"uowgen {installed}",
                "uowgen update",
                ANSWERS_FILE,
                line,
            )
        )
    elif theirs is not None and theirs > mine:
        found.append(
            finding(
                "template-ahead",
                f"the project was rendered by uowgen {recorded}, newer than this "
                f"uowgen {installed}",
                f"pip install 'uowgen>={recorded}'",
                ANSWERS_FILE,
                line,
            )
        )
    if latest is not None and Version(latest) > max(mine, theirs or mine):
        found.append(
            finding(
                "release-available",
                f"uowgen {latest} is released; this is uowgen {installed}",
                "pip install -U uowgen && uowgen update",
            )
        )
    return found


def project_version_findings(
    project: Project, latest: str | None
) -> tuple[str | None, list[Finding]]:
    """The version recorded in `project`'s answers, and the findings about it.

    An answers file that cannot be read gives none: `answers-invalid` reports it.
    """
    try:
        recorded = project.rendered_version()
    except UowgenError:
        return None, []
    text = read_text(project.answers_path) or ""
    line = next(
        (
            number
            for number, content in enumerate(text.splitlines(), start=1)
            if content.startswith(f"{VERSION_KEY}:")
        ),
        None,
    )
    return recorded, version_findings(__version__, recorded, latest=latest, line=line)


def parse_pip_versions(output: str) -> str | None:
    """The newest version in the output of `pip index versions uowgen`."""
    match = re.search(r"^uowgen \(([^)\s]+)\)", output, flags=re.MULTILINE)
    if match is None:
        return None
    try:
        return str(Version(match.group(1)))
    except InvalidVersion:
        return None


def latest_release() -> str:
    """The newest uowgen release on the package index, as pip sees it.

    pip runs in a subprocess, so its configuration applies (pip.conf,
    PIP_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX...).

    Raises:
        UowgenError: pip cannot be run, or the index cannot be reached or does not
            list uowgen.
    """
    command = [sys.executable, "-m", "pip", "index", "versions", "uowgen"]
    shown = "python -m pip index versions uowgen"
    try:
        result = subprocess.run(
            [*command, "--disable-pip-version-check"],
            capture_output=True,
            text=True,
            check=False,
            timeout=INDEX_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise UowgenError(
            f"--latest: `{shown}` took more than {INDEX_TIMEOUT_S} s; check that "
            "the package index is reachable, or run without --latest"
        ) from exc
    except OSError as exc:
        raise UowgenError(
            f"--latest: cannot run `{shown}`: {exc}; run without --latest"
        ) from exc
    newest = parse_pip_versions(result.stdout) if result.returncode == 0 else None
    if newest is None:
        errors = [
            line.strip()
            for line in (result.stderr + result.stdout).splitlines()
            if line.strip() and not line.startswith("WARNING: pip index is currently")
        ]
        said = "; ".join(errors[-3:]) or f"exit code {result.returncode}"
        raise UowgenError(
            f"--latest: cannot learn uowgen's newest release from the package index "
            f"(`{shown}` says: {said}); check the network and pip's index settings "
            "(PIP_INDEX_URL, PIP_FIND_LINKS), or run without --latest"
        )
    return newest
