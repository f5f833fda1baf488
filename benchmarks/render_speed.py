"""How long `uowgen new` takes for specs of 1 to 30 models (ruff formatting included).

Run: .venv/bin/python benchmarks/render_speed.py
Prints a table and writes benchmarks/render_speed.json.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from uowgen import generate, parse_spec
from uowgen._spec import FIELD_TYPES

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


def main() -> None:
    rows = []
    for count in (1, 10, 30):
        spec = parse_spec(spec_with(count))
        times = []
        for _ in range(RUNS):
            with tempfile.TemporaryDirectory() as scratch:
                started = time.perf_counter()
                generate(spec, Path(scratch) / "app")
                times.append(time.perf_counter() - started)
                files = sum(
                    1 for p in (Path(scratch) / "app").rglob("*") if p.is_file()
                )
        rows.append(
            {
                "models": count,
                "files": files,
                "median_s": statistics.median(times),
                "max_s": max(times),
            }
        )
    print(f"{'models':>6} {'files':>6} {'median s':>9} {'max s':>7}")
    for row in rows:
        print(
            f"{row['models']:>6} {row['files']:>6} {row['median_s']:>9.2f} {row['max_s']:>7.2f}"
        )
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
