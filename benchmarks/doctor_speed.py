"""How fast `uowgen doctor` checks real codebases, and that nothing crashes it.

The corpus (benchmarks/doctor_corpus.py: pinned FastAPI + SQLAlchemy releases from
PyPI, fetched once into a cache) is checked codebase by codebase, each three times
(the median is reported, parse included); then the standard library and this
virtualenv's site-packages are checked once each, as two big codebases, to show no
valid file makes it raise. Files it cannot parse are warnings, counted here.

Run: .venv/bin/python benchmarks/doctor_speed.py
Prints a table and writes benchmarks/doctor_speed.json.

`--apps` measures the real applications of benchmarks/doctor_apps.py instead: each
checked once by `uowgen doctor` in a process of its own (its wall and CPU time, its
workers' included, interpreter start included; its peak resident memory, VmHWM, and
its largest worker's; the load average before and after); writes
benchmarks/doctor_apps_speed.json. `--jobs N` is passed to doctor, `--only
polar,skyvern` picks applications, `--out FILE` writes elsewhere.
"""

from __future__ import annotations

import ast
import json
import os
import platform
import resource
import statistics
import sys
import sysconfig
import time
from collections import Counter
from pathlib import Path
from typing import Any

from doctor_corpus import fetch_all

from uowgen._doctor import DoctorReport, run_doctor

RUNS = 3
OUT = Path(__file__).with_name("doctor_speed.json")
APPS_OUT = "doctor_apps_speed.json"


def measure(path: Path, runs: int) -> tuple[DoctorReport, float]:
    times: list[float] = []
    report: DoctorReport | None = None
    for _ in range(runs):
        start = time.perf_counter()
        report = run_doctor([path], use_config=False)
        times.append(time.perf_counter() - start)
    assert report is not None
    return report, statistics.median(times)


def row(label: str, report: DoctorReport, seconds: float) -> dict[str, Any]:
    return {
        "codebase": label,
        "files": report.files,
        "seconds": round(seconds, 2),
        "files_per_second": round(report.files / seconds, 1),
        "findings": dict(sorted(Counter(f.code for f in report.findings).items())),
        "warnings": len(report.warnings),
    }


def main() -> None:
    rows: list[dict[str, Any]] = []
    for label, path in fetch_all().items():
        report, seconds = measure(path, RUNS)
        rows.append(row(label, report, seconds))
        print(f"checked {label}", file=sys.stderr)
    stdlib = Path(ast.__file__).parent
    site = Path(sysconfig.get_paths()["purelib"])
    for label, path in (("standard library", stdlib), ("site-packages", site)):
        report, seconds = measure(path, 1)
        rows.append(row(f"{label} ({path})", report, seconds))
        print(f"checked {label}", file=sys.stderr)
    print("| codebase | files | s | files/s | findings | unparsable |")
    print("|---|---:|---:|---:|---|---:|")
    for r in rows:
        found = ", ".join(f"{code} {n}" for code, n in r["findings"].items()) or "-"
        print(
            f"| {r['codebase']} | {r['files']} | {r['seconds']} | "
            f"{r['files_per_second']} | {found} | {r['warnings']} |"
        )
    OUT.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "runs": RUNS,
                "rows": rows,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


def apps(args: list[str]) -> None:
    """`--apps [--jobs N] [--only a,b] [--out FILE]`: each application in its own
    process; `--jobs` is passed to doctor, `--only` keeps the applications whose
    repository names contain one of the words."""
    import subprocess
    import tempfile

    from doctor_apps import APPS, checkout, doctor_arguments

    jobs = _option(args, "--jobs")
    only = [w for w in (_option(args, "--only") or "").split(",") if w]
    out = Path(_option(args, "--out") or Path(__file__).with_name(APPS_OUT))
    rows: list[dict[str, Any]] = []
    peak_script = Path(__file__).with_name("_peak_rss.py")
    for app in APPS:
        if only and not any(w.lower() in app.repository.lower() for w in only):
            continue
        root = checkout(app)
        if root is None:
            print(f"{app.repository}: not available", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory() as scratch:
            memory = Path(scratch) / "peak.json"
            load_before = os.getloadavg()[0]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    str(peak_script),
                    str(memory),
                    *doctor_arguments(root, ["--jobs", jobs] if jobs else []),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            seconds = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            # The doctor's own CPU time and its workers' (a process's children
            # count once it has waited for them).
            cpu = (after.ru_utime + after.ru_stime) - (
                before.ru_utime + before.ru_stime
            )
            peaks = json.loads(memory.read_text())
        report = json.loads(done.stdout)
        rows.append(
            {
                "application": app.repository,
                "files": report["files"],
                "seconds": round(seconds, 1),
                "cpu_seconds": round(cpu, 1),
                "peak_mib": round(peaks["own_mib"]),
                # The largest worker's resident set: most of it is the main
                # process's memory, shared with it, not copied.
                "worker_peak_mib": round(peaks["child_mib"]),
                "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
                "not_checked": len(report["not_checked"]),
                "findings": len(report["findings"]),
            }
        )
        print(f"checked {app.repository}", file=sys.stderr)
    print(
        "| application | files | wall s | CPU s | peak MiB (worker) | load | "
        "findings | not checked |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        worker = f" ({r['worker_peak_mib']})" if r["worker_peak_mib"] else ""
        load = "-".join(str(x) for x in r["load_average"])
        print(
            f"| {r['application']} | {r['files']} | {r['seconds']} | "
            f"{r['cpu_seconds']} | {r['peak_mib']}{worker} | {load} | "
            f"{r['findings']} | {r['not_checked']} |"
        )
    out.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "cores": os.cpu_count(),
                "jobs": jobs or "default",
                "rows": rows,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


def _option(args: list[str], name: str) -> str | None:
    if name in args:
        return args[args.index(name) + 1]
    return None


if __name__ == "__main__":
    if "--apps" in sys.argv[1:]:
        apps(sys.argv[1:])
    else:
        main()
