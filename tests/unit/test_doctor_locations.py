"""Findings say where everything is: a line in another file names its file, UOW003's
"since" names the call that opened the transaction, and JSON and SARIF carry the
HTTP call, the transaction's start and the session's factory as their own places."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.doctor_helpers import CASES, materialize
from uowgen._doctor import DoctorReport, format_doctor_report, run_doctor
from uowgen._report import ReportFormat


def report_of(tmp_path: Path) -> DoctorReport:
    root = materialize(CASES / "locations", tmp_path)
    return run_doctor([root], use_config=False, cwd=root)


def test_a_line_in_another_file_is_named_with_its_file(tmp_path: Path) -> None:
    report = report_of(tmp_path)

    messages = {(f.display, f.line, f.code): f.message for f in report.findings}
    uow003 = messages[("app/users.py", 9, "UOW003")]
    assert "(`client.get()`, app/clients.py:6)" in uow003
    assert "(since `session.execute()`, line 8)" in uow003
    uow006 = messages[("app/db.py", 6, "UOW006")]
    assert "(app/users.py:13, committed at app/users.py:12)" in uow006


def test_since_never_names_a_later_line_without_saying_why(tmp_path: Path) -> None:
    report = report_of(tmp_path)

    loop = next(f for f in report.findings if f.line == 19)
    assert "since `session.execute()`, line 20, on the loop's previous pass" in (
        loop.message
    )
    for finding in report.findings:
        if finding.code == "UOW003" and "previous pass" not in finding.message:
            opened = next(r for r in finding.related if "opens" in r.message)
            assert opened.line < finding.line


def test_json_and_sarif_carry_the_three_places(tmp_path: Path) -> None:
    report = report_of(tmp_path)

    data = json.loads(format_doctor_report(report, ReportFormat.JSON))
    sarif = json.loads(format_doctor_report(report, ReportFormat.SARIF))

    (finding,) = [f for f in data["findings"] if f["line"] == 9]
    assert [(r["path"], r["line"], r["message"]) for r in finding["related"]] == [
        ("app/clients.py", 6, "the outbound HTTP call"),
        ("app/users.py", 8, "the transaction opens here"),
        ("app/db.py", 6, "the factory that made the session"),
    ]
    (result,) = [
        r
        for r in sarif["runs"][0]["results"]
        if r["locations"][0]["physicalLocation"]["region"]["startLine"] == 9
    ]
    places = [
        (
            loc["physicalLocation"]["artifactLocation"]["uri"],
            loc["physicalLocation"]["region"]["startLine"],
        )
        for loc in result["relatedLocations"]
    ]
    assert places == [("app/clients.py", 6), ("app/users.py", 8), ("app/db.py", 6)]
    assert [loc["id"] for loc in result["relatedLocations"]] == [0, 1, 2]


def test_uow006_follows_a_context_manager_wrapper_across_modules(
    tmp_path: Path,
) -> None:
    report = report_of(tmp_path)

    (finding,) = [f for f in report.findings if f.code == "UOW006"]
    assert (finding.display, finding.line) == ("app/db.py", 6)
    assert [(r.display, r.line) for r in finding.related] == [
        ("app/users.py", 12),
        ("app/users.py", 13),
    ]


def test_since_names_the_read_after_a_nested_helper_committed(tmp_path: Path) -> None:
    path = materialize(CASES / "recall" / "nested_helper.py.txt", tmp_path)

    (finding,) = run_doctor([path], use_config=False).findings

    assert "(since `db_session.get()`, line 19)" in finding.message
