"""Code nothing imports (a demo script) is no request path: its UOW003 findings have
low confidence, and `skip-unimported` leaves them out, counted."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.doctor_helpers import CASES, expected, found, materialize
from uowgen._doctor import format_doctor_report, run_doctor
from uowgen._report import ReportFormat


def test_findings_in_code_nothing_imports_have_low_confidence(tmp_path: Path) -> None:
    root = materialize(CASES / "unimported", tmp_path)

    report = run_doctor([root], use_config=False, cwd=root)

    assert found(report, root) == expected(root)
    confidence = {f.display: f.confidence for f in report.findings}
    assert confidence == {
        "app/main.py": "high",
        "app/jobs.py": "high",  # named in a string: Celery's include
        "scripts/demo.py": "low",
    }
    data = json.loads(format_doctor_report(report, ReportFormat.JSON))
    assert [f["confidence"] for f in data["findings"]] == ["high", "high", "low"]
    text = format_doctor_report(report, ReportFormat.TEXT)
    assert "demo.py:14:19: UOW003" in text
    assert "[low confidence: in code nothing imports]" in text


def test_skip_unimported_leaves_them_out_and_counts_them(tmp_path: Path) -> None:
    root = materialize(CASES / "unimported", tmp_path)
    (root / "pyproject.toml").write_text(
        "[tool.uowgen.doctor]\nskip-unimported = true\n", encoding="utf-8"
    )

    report = run_doctor([root], cwd=root)

    assert {f.display for f in report.findings} == {"app/main.py", "app/jobs.py"}
    assert report.skipped_unimported == 1
    assert "1 finding in code nothing imports left out" in format_doctor_report(
        report, ReportFormat.TEXT
    )


def test_loose_files_that_import_nothing_of_each_other_are_not_marked(
    tmp_path: Path,
) -> None:
    demo = (CASES / "unimported" / "scripts" / "demo.py.txt").read_text("utf-8")
    factory = (CASES / "unimported" / "app" / "db.py.txt").read_text("utf-8")
    (tmp_path / "demo.py").write_text(
        demo.replace("from app.db import SessionLocal\n", factory), encoding="utf-8"
    )
    (tmp_path / "other.py").write_text("x = 1\n", encoding="utf-8")

    report = run_doctor([tmp_path], use_config=False, cwd=tmp_path)

    assert {(f.code, f.confidence) for f in report.findings} == {
        ("UOW003", "high"),
        ("UOW005", "high"),
    }
