"""Code nothing imports (a demo script), and test code, are no request path: their
UOW003 findings have low confidence, and `skip-unimported` leaves them out, counted."""

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
    assert (
        "1 finding in code nothing imports or in test code left out"
        in format_doctor_report(report, ReportFormat.TEXT)
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


def test_findings_in_test_code_have_low_confidence_saying_so(tmp_path: Path) -> None:
    # The project sits in a folder named `tests`: only its own tests are test code.
    root = materialize(CASES / "unimported", tmp_path / "tests" / "project")
    handler = (root / "app" / "main.py").read_text(encoding="utf-8")
    (root / "tests").mkdir()
    (root / "tests" / "__init__.py").write_text("", encoding="utf-8")
    (root / "tests" / "helpers.py").write_text(handler, encoding="utf-8")
    (root / "test_sync.py").write_text(handler, encoding="utf-8")

    report = run_doctor([root], use_config=False, cwd=root)

    low = {f.display: f.why_low for f in report.findings if f.confidence == "low"}
    assert low == {
        "scripts/demo.py": "in code nothing imports",
        "tests/helpers.py": "in test code",
        "test_sync.py": "in test code",
    }
    assert {f.display for f in report.findings if f.confidence == "high"} == {
        "app/main.py",
        "app/jobs.py",
    }
    text = format_doctor_report(report, ReportFormat.TEXT)
    assert "test_sync.py:15:19: UOW003" in text
    assert "; 2 of them [low confidence: in test code]" in text
    data = json.loads(format_doctor_report(report, ReportFormat.JSON))
    assert {f.get("why_low") for f in data["findings"]} == {
        None,
        "in code nothing imports",
        "in test code",
    }
