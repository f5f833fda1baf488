"""What each commit gave: doctor's CPU time before and after it, back to back.

Run: .venv/bin/python benchmarks/doctor_levers.py BASE COMMIT... [--apps A,B]
     [--rounds N]
Each commit's `src` (and BASE's) is taken by `git archive` into a temporary folder;
for each commit and each application, `benchmarks/doctor_once.py FOLDER 1` runs with
the commit before it first on PYTHONPATH, then with the commit itself, N times in
turn (one process each, jobs=1), so that both see the same load. Prints a table of
the least CPU seconds of each side, with the load average, and writes
`benchmarks/doctor_levers.json`. The applications are folders under the mirror
(`~/.cache/uowgen/doctor-apps`, see `doctor_apps.py`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
APPS = {
    "skyvern": "Skyvern-AI+skyvern-07222e7a7caa",
    "polar": "polarsource+polar-c6c3645e639e/server",
}


def snapshot(commit: str, into: Path) -> Path:
    """The commit's `src`, unpacked under `into`."""
    target = into / commit
    target.mkdir()
    archive = subprocess.run(
        ["git", "archive", commit, "src"], check=True, capture_output=True, cwd=ROOT
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "src"


def cpu_seconds(src: Path, folder: Path) -> float:
    """One in-process run's CPU seconds (jobs=1) with `src` first on PYTHONPATH."""
    done = subprocess.run(
        [sys.executable, str(HERE / "doctor_once.py"), str(folder), "1"],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(src)},
    )
    found = re.search(r" cpu=([0-9.]+) ", done.stdout)
    if found is None:
        raise SystemExit(f"no CPU time in {done.stdout!r}")
    return float(found.group(1))


def main(argv: list[str]) -> None:
    rounds, apps, commits = 2, list(APPS), []
    args = iter(argv)
    for arg in args:
        if arg == "--rounds":
            rounds = int(next(args))
        elif arg == "--apps":
            apps = next(args).split(",")
        else:
            commits.append(arg)
    if len(commits) < 2:
        raise SystemExit(__doc__)
    mirror = Path.home() / ".cache" / "uowgen" / "doctor-apps"
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        srcs = [snapshot(commit, Path(tmp)) for commit in commits]
        print("| commit | app | before CPU s | after CPU s | load (1 min) |")
        print("|---|---|---:|---:|---:|")
        for index in range(1, len(commits)):
            for app in apps:
                before: list[float] = []
                after: list[float] = []
                for _ in range(rounds):
                    before.append(cpu_seconds(srcs[index - 1], mirror / APPS[app]))
                    after.append(cpu_seconds(srcs[index], mirror / APPS[app]))
                load = os.getloadavg()[0]
                row = {
                    "commit": commits[index],
                    "app": app,
                    "before": before,
                    "after": after,
                    "load": round(load, 2),
                }
                rows.append(row)
                print(
                    f"| {commits[index]} | {app} | {min(before):.1f} | "
                    f"{min(after):.1f} | {load:.1f} |",
                    flush=True,
                )
    (HERE / "doctor_levers.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
