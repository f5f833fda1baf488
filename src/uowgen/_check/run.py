"""One `uowgen check`: every group of findings, the report, and its formats."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from uowgen._check.conflicts import conflict_findings
from uowgen._check.findings import Finding
from uowgen._check.migrations import (
    given_python,
    migration_findings,
    run_migration_check,
)
from uowgen._check.spec import project_spec_findings
from uowgen._check.versions import latest_release, project_version_findings
from uowgen._check.wiring import project_wiring_findings
from uowgen._evolve.project import SPEC_FILE, Project
from uowgen._report import ReportFormat, counted, docs_link, github_annotation
from uowgen._version import __version__

# The version of the JSON report's shape; bumped only for incompatible changes.
JSON_SCHEMA: Final = 1

# The formats `uowgen check --format` writes: all but SARIF.
CheckFormat = Literal[ReportFormat.TEXT, ReportFormat.JSON, ReportFormat.GITHUB]


@dataclass(frozen=True)
class Report:
    """Everything one `uowgen check` found."""

    project: Path
    uowgen_version: str
    recorded_version: str | None
    findings: tuple[Finding, ...]
    latest_version: str | None = None  # only asked for with `latest=True`

    @property
    def ok(self) -> bool:
        """Whether the project is in step: no findings."""
        return not self.findings

    def to_data(self) -> dict[str, Any]:
        """The report as JSON data, in the documented shape (`JSON_SCHEMA`)."""
        return {
            "schema": JSON_SCHEMA,
            "project": str(self.project),
            "uowgen_version": self.uowgen_version,
            "recorded_version": self.recorded_version,
            "latest_version": self.latest_version,
            "ok": self.ok,
            "findings": [item.to_data() for item in self.findings],
        }


def check_project(
    project: Project, *, latest: bool = False, python: str | None = None
) -> Report:
    """Check `project` against this uowgen's template and its own spec.

    The migration check runs in a subprocess while the others run here.

    Args:
        project: The generated project.
        latest: Also ask the package index for the newest uowgen release (off by
            default, so that CI gives the same answer for the same commit).
        python: The interpreter the migration check runs in (`--python`; a path,
            or a name on PATH); default: the project's `.venv/bin/python`, else
            the one running uowgen. One that lacks the project's dependencies is
            a finding (UG504), never a pass.

    Returns:
        The report, with every finding of every check.

    Raises:
        UowgenError: `latest` and the package index cannot be asked, or `python`
            is not an executable file.
    """
    interpreter = given_python(python) if python is not None else None
    newest = latest_release() if latest else None
    with ThreadPoolExecutor(max_workers=1) as pool:
        migrations = pool.submit(run_migration_check, project.root, interpreter)
        recorded, version = project_version_findings(project, newest)
        current, rendered, spec = project_spec_findings(project)
        wiring = project_wiring_findings(project, current, rendered)
        conflicts = conflict_findings(project.root)
        spec_changed = any(item.kind == "spec-unapplied" for item in spec)
        drift = migration_findings(migrations.result(), spec_changed=spec_changed)
    return Report(
        project=project.root,
        uowgen_version=__version__,
        recorded_version=recorded,
        findings=(*version, *spec, *wiring, *conflicts, *drift),
        latest_version=newest,
    )


def format_report(
    report: Report, output: CheckFormat, *, cwd: Path | None = None
) -> str:
    """The report as the CLI prints it.

    Args:
        report: What `check_project` found.
        output: `text`: one `path:line: CODE message (fix: command)` line per
            finding, then a summary line; `json`: `Report.to_data()`; `github`:
            workflow commands that annotate the files in a pull request.
        cwd: Paths under it are shown relative to it (text and github), as
            GitHub wants them relative to the workspace; default: as in the JSON,
            relative to the project.
    """
    if output is ReportFormat.JSON:
        return json.dumps(report.to_data(), indent=2, ensure_ascii=False)
    lines = [
        _github_line(item, _shown(report.project, item.path, cwd))
        if output is ReportFormat.GITHUB
        else _text_line(item, _shown(report.project, item.path, cwd))
        for item in report.findings
    ]
    lines.append(
        f"{report.project} is in step with uowgen {report.uowgen_version} and "
        f"{SPEC_FILE}"
        if report.ok
        else f"{counted(len(report.findings), 'finding')}: {report.project} is not "
        f"in step with uowgen {report.uowgen_version} and {SPEC_FILE}"
    )
    return "\n".join(lines)


def _shown(project: Path, path: str | None, cwd: Path | None) -> str | None:
    if path is None or cwd is None:
        return path
    full = project / path
    try:
        return full.relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return str(full)


def _text_line(item: Finding, path: str | None) -> str:
    where = (
        f"{path}:{item.line}: " if path and item.line else f"{path}: " if path else ""
    )
    text = f"{where}{item.code} {item.message} (fix: {item.fix})"
    return " ".join(text.splitlines())


def _github_line(item: Finding, path: str | None) -> str:
    properties: list[tuple[str, str | int]] = [("file", path)] if path else []
    if path and item.line:
        properties.append(("line", item.line))
    properties.append(("title", f"{item.code} {item.kind}"))
    message = f"{item.message} (fix: {item.fix}; docs: {docs_link(item.code)})"
    return github_annotation("error", message, properties)
