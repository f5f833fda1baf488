"""How long `uowgen new`, `add-model`, `sync` and `check` take on 1 to 300 models.

`new` renders and formats the project; `add-model` edits uowgen.yml, renders the
template twice (the last spec and the new one), merges the new render into the
project and writes a migration; `sync` does the same after a hand edit of uowgen.yml
(a field added to the last model). Ruff formatting is included everywhere.
`check` runs on the fresh project as CI runs it: the whole command in its own
process (`python -m uowgen check`, imports included), migrations checked on SQLite.

Each command's peak memory is measured once per size in a process of its own
(benchmarks/_peak_rss.py): the command's peak resident set, and the largest of its
children's (the forked renders). The last column is the growth per added model from
one size to the next, in milliseconds of add-model: flat means linear.

Run: .venv/bin/python benchmarks/render_speed.py [SIZES...]   (default 1 30 100 300)
Prints a table and writes benchmarks/render_speed.json.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from uowgen import generate, parse_spec
from uowgen._cli.commands import app
from uowgen._schema.types import FIELD_TYPES

# Every type that needs no options; enums and refs are added per model below.
TYPES = [kind for kind in FIELD_TYPES if kind not in ("enum", "ref")]
RUNS = 3


def spec_with(models: int) -> dict[str, Any]:
    """A spec of `models` models, 6 to 9 fields each, every type, refs to earlier models."""
    result = []
    for i in range(models):
        fields: list[dict[str, Any]] = [
            {"name": f"field_{j}", "type": TYPES[(i + j) % len(TYPES)]}
            for j in range(6)
        ]
        fields.append({"name": "code", "type": "str", "max_length": 40, "unique": True})
        fields.append({"name": "state", "type": "enum", "values": ["new", "done"]})
        if i:
            fields.append({"name": "parent", "type": "ref", "to": f"Entity{i - 1}"})
        result.append({"name": f"Entity{i}", "fields": fields})
    return {"project_name": f"Bench {models}", "models": result}


def timed(action: Callable[..., object], *args: Any) -> float:
    started = time.perf_counter()
    action(*args)
    return time.perf_counter() - started


def invoke(*args: str) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output


def check(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "uowgen", "check", "-p", str(project)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def peak_memory(*args: str) -> dict[str, float]:
    """Run `uowgen ARGS` in its own process; its peak memory and its children's."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "peak.json"
        runner = Path(__file__).with_name("_peak_rss.py")
        result = subprocess.run(
            [sys.executable, str(runner), str(out), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        peak: dict[str, float] = json.loads(out.read_text())
        return peak


def memory_row(spec: Any) -> dict[str, float]:
    """Peak MiB of each command (the larger of the process and its biggest child)."""
    peaks: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        spec_file = Path(scratch) / "spec.yml"
        spec_file.write_text(json.dumps(spec))
        project = Path(scratch) / "app"
        where = ("-p", str(project))
        runs = {
            "new": ("new", str(project), "--spec", str(spec_file)),
            "check": ("check", *where),
            "add_model": ("add-model", "Extra", "label:str", *where),
        }
        for name, args in runs.items():
            peak = peak_memory(*args)
            peaks[f"{name}_peak_mib"] = max(peak["own_mib"], peak["child_mib"])
        spec_path = project / "uowgen.yml"
        spec_path.write_text(
            spec_path.read_text() + "      - {name: note, type: text, optional: true}\n"
        )
        peak = peak_memory("sync", *where)
        peaks["sync_peak_mib"] = max(peak["own_mib"], peak["child_mib"])
    return peaks


def main() -> None:
    rows = []
    sizes = [int(arg) for arg in sys.argv[1:]] or [1, 30, 100, 300]
    for count in sizes:
        spec = parse_spec(spec_with(count))
        new, add, sync, checked = [], [], [], []
        for _ in range(RUNS):
            with tempfile.TemporaryDirectory() as scratch:
                project = Path(scratch) / "app"
                new.append(timed(generate, spec, project))
                files = sum(1 for p in project.rglob("*") if p.is_file())
                checked.append(timed(check, project))
                add.append(
                    timed(invoke, "add-model", "Extra", "label:str", "-p", str(project))
                )
                spec_file = project / "uowgen.yml"
                spec_file.write_text(
                    spec_file.read_text()
                    + "      - {name: note, type: text, optional: true}\n"
                )
                sync.append(timed(invoke, "sync", "-p", str(project)))
        rows.append(
            {
                "models": count,
                "files": files,
                "new_median_s": statistics.median(new),
                "add_model_median_s": statistics.median(add),
                "sync_median_s": statistics.median(sync),
                "check_median_s": statistics.median(checked),
                "max_s": max(new + add + sync + checked),
                **memory_row(spec_with(count)),
            }
        )
    print(
        f"{'models':>6} {'files':>6} {'new s':>7} {'add-model s':>12} {'sync s':>7} "
        f"{'check s':>8} {'peak MiB (new/add/sync/check)':>30} {'ms/model':>9}"
    )
    previous: dict[str, Any] | None = None
    for row in rows:
        growth = ""
        if previous is not None:
            added = row["models"] - previous["models"]
            delta = row["add_model_median_s"] - previous["add_model_median_s"]
            growth = f"{1000 * delta / added:.1f}"
        peaks = "/".join(
            f"{row[f'{name}_peak_mib']:.0f}"
            for name in ("new", "add_model", "sync", "check")
        )
        print(
            f"{row['models']:>6} {row['files']:>6} {row['new_median_s']:>7.2f} "
            f"{row['add_model_median_s']:>12.2f} {row['sync_median_s']:>7.2f} "
            f"{row['check_median_s']:>8.2f} {peaks:>30} {growth:>9}"
        )
        previous = row
    out = Path(__file__).with_name("render_speed.json")
    out.write_text(
        json.dumps(
            {
                "python": sys.version.split()[0],
                "machine": platform.machine(),
                "runs": RUNS,
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
