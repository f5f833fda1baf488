"""`uowgen doctor` on the command line: exit codes, formats, selection, noqa, config."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from typer.testing import CliRunner

from tests.unit.doctor_helpers import CASES, materialize
from uowgen._cli.commands import app
from uowgen._doctor import RULES, format_doctor_report, run_doctor
from uowgen._report import ReportFormat
from uowgen._version import __version__

runner = CliRunner()
ENGINE = 'from sqlalchemy.ext.asyncio import create_async_engine\n\nengine = create_async_engine("sqlite+aiosqlite://")'
# The SARIF 2.1.0 schema Microsoft's SARIF SDK validates with, from the npm registry.
SARIF_PACKAGE = "@microsoft/jest-sarif@1.0.0-beta.0"
SARIF_MEMBER = "package/lib/schemas/sarif-2.1.0-rtm.5.json"
SARIF_SHA256 = "2d99159ae54a3eea97f81781cff48780548657c35949f4b7f25e99a2ba4de4f8"


def doctor(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["doctor", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def seed(tmp_path: Path) -> Path:
    return materialize(CASES / "seeds" / "idle_in_transaction", tmp_path)


def test_exit_codes_are_0_clean_1_findings_2_usage(tmp_path: Path) -> None:
    clean = tmp_path / "clean.py"
    clean.write_text("x = 1\n", encoding="utf-8")

    assert doctor(clean)[0] == 0
    assert doctor(seed(tmp_path))[0] == 1
    assert doctor(tmp_path / "missing")[0] == 2
    assert doctor("--select", "UOW9", clean)[0] == 2
    assert doctor("--format", "xml", clean)[0] == 2


def test_text_output_is_ruff_like_with_a_summary(tmp_path: Path) -> None:
    code, out, _ = doctor(seed(tmp_path))

    lines = out.splitlines()
    assert code == 1
    first = lines[0].split(": ", 2)
    assert first[0].endswith("app/answer.py:15:71")
    assert first[1].startswith("UOW004 ")
    assert "Found 5 findings in 3 files (7 files checked)." in lines
    assert any(line.split()[:2] == ["2", "UOW003"] for line in lines)


def test_select_and_ignore_take_codes_and_prefixes(tmp_path: Path) -> None:
    root = seed(tmp_path)

    only = run_doctor([root], select=["UOW003"], use_config=False)
    some = run_doctor([root], select=["UOW00"], ignore=["UOW003", "UOW004"])
    _, out, _ = doctor("--select", "UOW002,UOW005", root)

    assert {f.code for f in only.findings} == {"UOW003"}
    assert {f.code for f in some.findings} == {"UOW002", "UOW005"}
    assert {line.split()[1] for line in out.splitlines() if ": UOW" in line} == {
        "UOW002",
        "UOW005",
    }


def test_noqa_silences_the_named_codes_or_all(tmp_path: Path) -> None:
    cases = {
        "named.py": ("  # noqa: UOW005", 0),
        "bare.py": ("  # noqa", 0),
        "listed.py": ("  # NOQA:UOW001,UOW005", 0),
        "other.py": ("  # noqa: E501", 1),
        "string.py": ('  ;s = "# noqa"', 1),
    }
    for name, (suffix, _) in cases.items():
        (tmp_path / name).write_text(ENGINE + suffix + "\n", encoding="utf-8")

    for name, (_, count) in cases.items():
        report = run_doctor([tmp_path / name], use_config=False)
        assert len(report.findings) == count, name


def test_the_nearest_pyproject_configures_the_run(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.uowgen.doctor]\n"
        'ignore = ["UOW004"]\n'
        'exclude = ["legacy"]\n'
        'per-file-ignores = {"*/app/answer.py" = ["UOW003"]}\n',
        encoding="utf-8",
    )
    root = seed(tmp_path)
    (root / "legacy").mkdir()
    (root / "legacy" / "old.py").write_text(ENGINE + "\n", encoding="utf-8")
    # A pyproject.toml nearer the code without the table is passed over.
    (root / "pyproject.toml").write_text("[project]\nname = 'seed'\n", encoding="utf-8")

    report = run_doctor([root])

    assert report.config == tmp_path / "pyproject.toml"
    assert {(f.path.name, f.code) for f in report.findings} == {
        ("base.py", "UOW005"),
        ("base.py", "UOW002"),
        ("create_user.py", "UOW003"),
    }
    assert len(run_doctor([root], use_config=False).findings) == 6  # with legacy/


@pytest.mark.parametrize(
    "table",
    [
        "[tool.uowgen.doctor\n",
        '[tool.uowgen.doctor]\nselekt = ["UOW001"]\n',
        '[tool.uowgen.doctor]\nselect = "UOW001"\n',
        '[tool.uowgen.doctor]\nignore = ["UOW100"]\n',
        '[tool.uowgen.doctor]\nper-file-ignores = {"a.py" = ["X1"]}\n',
        '[tool.uowgen.doctor]\nhold-all-trees = "yes"\n',
    ],
)
def test_a_bad_config_exits_2_and_says_where(table: str, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(table, encoding="utf-8")
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")

    code, _, err = doctor(tmp_path)

    assert code == 2
    assert "pyproject.toml" in err


def test_unreadable_files_are_uow000_findings_not_crashes(tmp_path: Path) -> None:
    (tmp_path / "syntax.py").write_text("def broken(:\n", encoding="utf-8")
    (tmp_path / "latin1.py").write_bytes(
        b"# -*- coding: latin-1 -*-\nname = '\xe9t\xe9'\n" + ENGINE.encode() + b"\n"
    )
    (tmp_path / "not_utf8.py").write_bytes(b"name = '\xe9t\xe9'\n")
    (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
    (tmp_path / "bad_cookie.py").write_bytes(b"# coding: klingon\nx = 1\n")

    code, out, err = doctor(tmp_path)

    not_checked = {
        Path(line.split(":")[0]).name
        for line in out.splitlines()
        if ": UOW000 " in line
    }
    assert not_checked == {"syntax.py", "not_utf8.py", "nul.py", "bad_cookie.py"}
    assert err == ""
    assert code == 1
    assert "latin1.py:5:10: UOW005" in out  # the latin-1 file was read and checked


def test_columns_count_characters_not_bytes(tmp_path: Path) -> None:
    path = tmp_path / "accents.py"
    path.write_text(
        'from sqlalchemy import create_engine\néè = 1; engine = create_engine("x")\n',
        encoding="utf-8",
    )

    (finding,) = run_doctor([path], use_config=False).findings

    assert (finding.line, finding.column) == (2, 18)


def test_json_lists_findings_with_their_fix(tmp_path: Path) -> None:
    code, out, _ = doctor("--format", "json", seed(tmp_path))

    data = json.loads(out)
    assert code == 1
    assert list(data) == [
        "version",
        "uowgen_version",
        "files",
        "findings",
        "warnings",
        "not_checked",
    ]
    assert (data["version"], data["uowgen_version"]) == (1, __version__)
    assert data["files"] == 7
    assert {f["code"] for f in data["findings"]} == {
        "UOW002",
        "UOW003",
        "UOW004",
        "UOW005",
    }
    assert all(f["fix"] and f["line"] >= 1 for f in data["findings"])
    assert all(f["docs"] == f"docs/doctor/{f['code']}.md" for f in data["findings"])


def test_github_format_is_one_annotation_per_finding(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def broken(:\n", encoding="utf-8")
    root = seed(tmp_path)
    shutil.copy(tmp_path / "bad.py", root / "bad.py")

    _, out, _ = doctor("--format", "github", root)

    lines = out.splitlines()
    assert sum(line.startswith("::error file=") for line in lines) == 6
    assert sum("UOW000" in line for line in lines) == 1
    assert all(",line=" in line and "::" in line[2:] for line in lines)


@pytest.fixture(scope="session")
def sarif_schema() -> dict[str, Any]:
    """The SARIF 2.1.0 JSON schema, fetched once with npm into a cache."""
    cache = Path(os.environ.get("UOWGEN_CACHE_DIR", Path.home() / ".cache" / "uowgen"))
    path = cache / "doctor" / "sarif-2.1.0-rtm.5.json"
    if not path.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is needed once to fetch the SARIF schema")
        work = cache / "doctor" / "npm"
        work.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "pack", SARIF_PACKAGE, "--silent"],
            cwd=work,
            check=True,
            capture_output=True,
            timeout=300,
        )
        tarball = next(work.glob("microsoft-jest-sarif-*.tgz"))
        with tarfile.open(tarball) as archive:
            member = archive.extractfile(SARIF_MEMBER)
            assert member is not None
            data = member.read()
        assert hashlib.sha256(data).hexdigest() == SARIF_SHA256
        path.write_bytes(data)
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    # The one typo of this schema: a stray `]` in the `language` patterns, which a
    # strict validator refuses as a regex. doctor never writes `language`.
    for definition in schema["definitions"].values():
        language = definition.get("properties", {}).get("language", {})
        if "pattern" in language:
            language["pattern"] = "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$"
    return schema


def test_sarif_is_valid_sarif_2_1_0(
    sarif_schema: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "bad.py").write_text("def broken(:\n", encoding="utf-8")
    root = seed(tmp_path)
    shutil.copy(tmp_path / "bad.py", root / "bad.py")

    code, out, _ = doctor("--format", "sarif", root)

    log = json.loads(out)
    errors = [
        e.message for e in jsonschema_rs.validator_for(sarif_schema).iter_errors(log)
    ]
    assert code == 1
    assert errors == []
    run = log["runs"][0]
    assert run["tool"]["driver"]["version"] == __version__
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [rule.code for rule in RULES]
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules)
    assert len(run["results"]) == 6  # with the UOW000 of bad.py
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert len(notes) == 1


def test_a_bad_configuration_says_to_fix_it_or_skip_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.uowgen.doctor]\nselect = ["UOW9"]\n', encoding="utf-8"
    )
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")

    code, _, err = doctor(tmp_path / "ok.py")

    assert code == 2
    assert "[tool.uowgen.doctor]: unknown rule 'UOW9'" in err
    assert err.rstrip().endswith("fix it, or run `uowgen doctor --no-config`")
    assert doctor("--no-config", tmp_path / "ok.py")[0] == 0


def test_a_clean_run_says_so_in_every_format(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")
    report = run_doctor([tmp_path], use_config=False)

    assert format_doctor_report(report, ReportFormat.TEXT) == (
        "All checks passed! (1 file checked)"
    )
    assert json.loads(format_doctor_report(report, ReportFormat.JSON))["findings"] == []
    assert format_doctor_report(report, ReportFormat.GITHUB) == ""
    sarif = json.loads(format_doctor_report(report, ReportFormat.SARIF))
    assert sarif["runs"][0]["results"] == []
