"""The commands that report on code: `check` (a project) and `doctor` (any code).

Both print a report in the format asked for (`uowgen._report.ReportFormat`) and
exit 1 when it has findings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from uowgen._check.run import CheckFormat, check_project, format_report
from uowgen._cli.output import ProjectOption, exit_on_user_error
from uowgen._doctor import format_doctor_report, run_doctor, text_warnings
from uowgen._evolve.project import find_project
from uowgen._report import ReportFormat


def check(
    project: ProjectOption = None,
    output: Annotated[
        CheckFormat,
        typer.Option(
            "--format",
            help="text: a line per finding; json: for bots; github: annotations.",
        ),
    ] = ReportFormat.TEXT,
    latest: Annotated[
        bool,
        typer.Option(
            "--latest",
            help="Also ask the package index for a newer uowgen release "
            "(off by default, so CI answers the same for the same commit).",
        ),
    ] = False,
    python: Annotated[
        str | None,
        typer.Option(
            "--python",
            metavar="PATH",
            help="The interpreter the project is installed in, to check the "
            "migrations with (default: the project's .venv/bin/python, else the "
            "one running uowgen).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check the project is in step with this uowgen and its spec: a gate for CI.

    Checks the template version, unapplied uowgen.yml changes, the wiring of
    every model, leftover conflicts, and the models against the migrations (on a
    scratch SQLite database, in the project's interpreter: a project not
    installed there is a finding). Exit 0: in step; 1: findings, one a line, each
    with the command that fixes it; 2: not a project, or the check could not run.
    """
    with exit_on_user_error("check"):
        found = find_project(project or Path.cwd())
        report = check_project(found, latest=latest, python=python)
    typer.echo(format_report(report, output, cwd=Path.cwd()))
    if not report.ok:
        raise typer.Exit(1)


def doctor(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files and folders to check (default: the current folder).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            help="text: ruff-like lines; json: for bots; github: annotations; "
            "sarif: SARIF 2.1.0 for code scanning.",
        ),
    ] = ReportFormat.TEXT,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            metavar="CODES",
            help="Rules to check, by code or prefix (UOW003, UOW00); comma-separated "
            "or repeated. Replaces the config's select.",
            show_default=False,
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            metavar="CODES",
            help="Rules not to check, by code or prefix; added to the config's.",
            show_default=False,
        ),
    ] = None,
    no_config: Annotated[
        bool,
        typer.Option(
            "--no-config", help="Ignore [tool.uowgen.doctor] in pyproject.toml."
        ),
    ] = False,
    skip_unimported: Annotated[
        bool | None,
        typer.Option(
            "--skip-unimported/--report-unimported",
            help="Leave out UOW003's findings in code nothing imports and that is "
            "no entry point (scripts, demos) and in test code, or report them with "
            "low confidence (the default; or the config's skip-unimported).",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Processes to check the modules in (default: one per core; a "
            "codebase under 300 files is checked in one).",
            show_default=False,
        ),
    ] = None,
    hold_all_trees: Annotated[
        bool | None,
        typer.Option(
            "--hold-all-trees/--hold-some-trees",
            help="Hold every module's syntax tree for the whole run: faster on a "
            "large codebase, at about 30 times its source in memory (default: only "
            "the trees used last, about 30 MB; or the config's hold-all-trees).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Lint any FastAPI + SQLAlchemy code for the session mistakes uowgen prevents.

    Statically, with Python's ast (newer grammars through LibCST; a file that
    cannot be parsed is UOW000): sessions shared from import time (UOW001),
    commits after a dependency's yield (UOW002), HTTP calls inside a transaction
    (UOW003), autocommit=True (UOW004), engines never disposed (UOW005),
    expire_on_commit with async sessions (UOW006), lazy relationships under
    asyncio (UOW007), a session used by concurrent coroutines (UOW008). `# noqa: UOW003` on a line silences it there. Exit 0: clean;
    1: findings; 2: a bad path, option or configuration.
    """

    def codes(values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        return [code for value in values for code in value.split(",") if code.strip()]

    with exit_on_user_error("doctor"):
        report = run_doctor(
            paths or [Path()],
            select=codes(select),
            ignore=codes(ignore) or [],
            use_config=not no_config,
            skip_unimported=skip_unimported,
            jobs=jobs,
            hold_all_trees=hold_all_trees,
        )
    if output is ReportFormat.TEXT:
        for line in text_warnings(report):
            typer.secho(line, fg=typer.colors.YELLOW, err=True)
    typer.echo(format_doctor_report(report, output))
    if not report.ok:
        raise typer.Exit(1)
