"""Do the real applications still get the same findings? (issue 21's speed work)

`--save DIR` writes each application's `uowgen doctor --format json` report (the
findings with their related locations, the warnings, the files not checked) to
DIR/<owner>+<name>.json; `--compare DIR` runs doctor again and prints every
application whose report differs from the saved one, with the lines that differ.
Each application is checked in a process of its own. Arguments after `--` are
passed to `uowgen doctor` (e.g. `-- --jobs 1`).

Run: .venv/bin/python benchmarks/doctor_same.py --save /tmp/doctor-baseline
     .venv/bin/python benchmarks/doctor_same.py --compare /tmp/doctor-baseline
Exits 1 when a report differs or is missing.
"""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path

from doctor_apps import APPS, checkout, doctor_arguments


def report(root: Path, extra: list[str]) -> str:
    """The application's JSON report, normalised: keys sorted, version left out."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from uowgen._cli import main; main()",
            *doctor_arguments(root, extra),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
    )
    if not done.stdout.strip():
        raise SystemExit(f"{root}: doctor printed nothing\n{done.stderr}")
    data = json.loads(done.stdout)
    data.pop("uowgen_version", None)
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    if len(argv) != 2 or argv[0] not in ("--save", "--compare"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, folder = argv[0], Path(argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    differ = 0
    for app in APPS:
        root = checkout(app)
        if root is None:
            print(f"{app.repository}: not available", file=sys.stderr)
            differ += 1
            continue
        text = report(root, extra)
        saved = folder / f"{app.repository.replace('/', '+')}.json"
        if mode == "--save":
            saved.write_text(text, encoding="utf-8")
            print(f"{app.repository}: saved")
            continue
        if not saved.is_file():
            print(f"{app.repository}: no saved report")
            differ += 1
            continue
        before = saved.read_text(encoding="utf-8")
        if before == text:
            print(f"{app.repository}: same")
            continue
        differ += 1
        print(f"{app.repository}: DIFFERENT")
        diff = difflib.unified_diff(
            before.splitlines(), text.splitlines(), "saved", "now", lineterm=""
        )
        for line in list(diff)[:40]:
            print("   ", line)
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
