"""Render a doctor report: text (ruff's layout), JSON, GitHub annotations, SARIF."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from uowgen._doctor._model import DoctorReport, Finding
from uowgen._doctor._rules import RULES, RULES_BY_CODE
from uowgen._report import ReportFormat, counted, docs_link, github_annotation
from uowgen._version import __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LOW = "[low confidence: {why}]"


def format_doctor_report(report: DoctorReport, output: ReportFormat) -> str:
    """The report as text to print (without a trailing newline)."""
    if output is ReportFormat.JSON:
        return json.dumps(_json(report), indent=2)
    if output is ReportFormat.GITHUB:
        return _github(report)
    if output is ReportFormat.SARIF:
        return json.dumps(sarif(report), indent=2)
    return _text(report)


def text_warnings(report: DoctorReport) -> list[str]:
    """One line per file that could not be (wholly) checked, for stderr."""
    return [
        f"warning: {w.display}:{w.line}:{w.column}: {w.message}"
        for w in report.warnings
    ]


def _text(report: DoctorReport) -> str:
    lines = [
        f"{f.display}:{f.line}:{f.column}: {f.code} {f.message}"
        + (" " + _LOW.format(why=f.why_low) if f.confidence == "low" else "")
        for f in report.findings
    ]
    checked = f"{counted(report.files, 'file')} checked"
    if report.not_checked:
        checked += f", {_not_checked(report)}"
    if report.skipped_unimported:
        checked += (
            f", {counted(report.skipped_unimported, 'finding')} in code nothing "
            "imports or in test code left out"
        )
    if not report.findings:
        lines.append(f"All checks passed! ({checked})")
        return "\n".join(lines)
    counts = Counter(f.code for f in report.findings)
    total = len(report.findings)
    files = len({f.display for f in report.findings})
    low = Counter(f.why_low for f in report.findings if f.confidence == "low")
    for why, count in sorted(low.items()):
        checked += f"; {count} of them {_LOW.format(why=why)}"
    lines.append(
        f"Found {counted(total, 'finding')} in {counted(files, 'file')} ({checked})."
    )
    for code, count in sorted(counts.items()):
        rule = RULES_BY_CODE[code]
        lines.append(f"  {count:>4}  {code}  {rule.name}: {rule.fix}")
    return "\n".join(lines)


def _not_checked(report: DoctorReport) -> str:
    """`2 not checked (1 cannot parse it, 1 cannot decode it)`."""
    reasons = Counter(w.message.partition(":")[0] for w in report.not_checked)
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
    return f"{len(report.not_checked)} not checked ({why})"


def _json(report: DoctorReport) -> dict[str, Any]:
    return {
        "version": 1,
        "uowgen_version": __version__,
        "files": report.files,
        "findings": [_finding_json(f) for f in report.findings],
        "warnings": [
            {
                "path": w.display,
                "line": w.line,
                "column": w.column,
                "message": w.message,
            }
            for w in report.warnings
        ],
        "not_checked": [
            {
                "path": w.display,
                "line": w.line,
                "column": w.column,
                "message": w.message,
            }
            for w in report.not_checked
        ],
    }


def _finding_json(finding: Finding) -> dict[str, Any]:
    rule = finding.rule
    return {
        "code": finding.code,
        "name": rule.name,
        "message": finding.message,
        "fix": rule.fix,
        "path": finding.display,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "docs": rule.docs,
        "confidence": finding.confidence,
        **({"why_low": finding.why_low} if finding.why_low else {}),
        "related": [
            {
                "path": r.display,
                "line": r.line,
                "column": r.column,
                "message": r.message,
            }
            for r in finding.related
        ],
    }


def _github(report: DoctorReport) -> str:
    lines = [
        github_annotation(
            "error",
            f"{f.code} {f.message} (docs: {docs_link(f.code)})",
            [
                ("file", f.display),
                ("line", f.line),
                ("col", f.column),
                ("endLine", f.end_line),
                ("endColumn", f.end_column),
                ("title", f"uowgen doctor ({f.code})"),
            ],
        )
        for f in report.findings
    ]
    lines += [
        github_annotation(
            "warning",
            w.message,
            [("file", w.display), ("line", w.line), ("col", w.column)],
        )
        for w in report.warnings
    ]
    return "\n".join(lines)


def sarif(report: DoctorReport) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log: every rule, each finding with its location."""
    index = {rule.code: i for i, rule in enumerate(RULES)}
    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.why},
            # SARIF's helpUri must be absolute; the docs live in the repository.
            "help": {
                "text": f"{rule.why} Fix: {rule.fix} Docs: {docs_link(rule.code)}",
                "markdown": f"{rule.why}\n\n**Fix:** {rule.fix}\n\n"
                f"[Docs]({docs_link(rule.code)})",
            },
            "defaultConfiguration": {
                "level": "error",
                "enabled": rule.code in report.selected,
            },
        }
        for rule in RULES
    ]
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": "error" if f.confidence == "high" else "note",
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": f.display,
                            "uriBaseId": "%SRCROOT%",
                        },
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line,
                            "endColumn": f.end_column,
                        },
                    }
                }
            ],
            "relatedLocations": [
                {
                    "id": number,
                    "message": {"text": r.message},
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": r.display,
                            "uriBaseId": "%SRCROOT%",
                        },
                        "region": {"startLine": r.line, "startColumn": r.column},
                    },
                }
                for number, r in enumerate(f.related)
            ],
        }
        for f in report.findings
    ]
    notifications = [
        {
            "level": "warning",
            "message": {"text": w.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": w.display,
                            "uriBaseId": "%SRCROOT%",
                        },
                        "region": {"startLine": w.line, "startColumn": w.column},
                    }
                }
            ],
        }
        for w in (*report.not_checked, *report.warnings)
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "uowgen doctor",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }
