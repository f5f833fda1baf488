"""False conflicts of `uowgen update`: the line merge alone against the statement merge.

Part 1 replays the merge corpus (tests/fixtures/merge_corpus/edits.yml: 38 edits a
team makes to a project of the fastbot spec the releases read,
tests/fixtures/releases/fastbot.yml) across real release pairs, each edit
alone, merged by lines only (`git merge-file`, uowgen 0.5.0) and by statements first
(`uowgen._evolve.py_merge`). A conflict is true when the corpus says the template
changed the same statement; any other conflict is false. Every edit must be kept and
every true conflict reported, in both modes.

Part 2 times the merge of a 100-model project from 0.4.0 to this version, with an
edit in three files of every model (300 files both sides changed), against the
time of rendering that project (the render an update does anyway).

Run: .venv/bin/python benchmarks/merge_conflicts.py
Prints the tables and writes benchmarks/merge_conflicts.json.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.merge_corpus import (
    PAIRS,
    Renders,
    Tally,
    load_edits,
    renders,
    tally,
    tree,
    unpack,
)
from uowgen._evolve.merge import plan_merge
from uowgen._evolve.project import Project
from uowgen._evolve.sync import merged_by_hand
from uowgen._evolve.upgrade_steps import moves_of, spec_of, steps_between
from uowgen._render.engine import render_tree
from uowgen._version import __version__

OUT = Path(__file__).with_name("merge_conflicts.json")
RUNS = 3
MODELS = 100


def corpus(scratch: Path) -> list[dict[str, Any]]:
    edits = load_edits()
    rows = []
    for old, new in PAIRS:
        pair: Renders = renders(old, new, scratch)
        lines = tally(pair, edits, by_statements=False, scratch=scratch / f"{old}-l")
        py = tally(pair, edits, by_statements=True, scratch=scratch / f"{old}-s")
        rows.append({"pair": f"{old} -> {new}", "lines": _row(lines), "py": _row(py)})
    return rows


def _row(counted: Tally) -> dict[str, Any]:
    return {
        "applied": counted.applied,
        "true_conflicts": counted.true_conflicts,
        "conflicts": counted.conflicts,
        "false_conflicts": counted.false_conflicts,
        "false": counted.false,
        "missed": counted.missed,
        "lost": counted.lost,
        "merged_by_statements": counted.by_statements,
    }


def spec_of_size(models: int) -> str:
    """A spec 0.4.0 can render: a few plain fields per model, a ref to the last."""
    lines = ["project_name: Bench", "models:"]
    for i in range(models):
        lines += [
            f"  - name: Entity{i}",
            "    fields:",
            "      - {name: title, type: str, max_length: 80}",
            "      - {name: amount, type: int}",
            "      - {name: active, type: bool}",
        ]
        if i:
            lines.append(f"      - {{name: parent, type: ref, to: Entity{i - 1}}}")
    return "\n".join(lines) + "\n"


# The team's edits in each model's files: appended, the commonest kind.
MODEL_EDITS = {
    "schemas": "\n\nMAX_TITLE_{n} = 80\n",
    "services": (
        "\n\nasync def count_{name}(uow: UnitOfWork) -> int:\n"
        "    async with uow.read() as tx:\n"
        "        return 0\n"
    ),
    "repositories": "\n    # Ours: queries of our own go here.\n",
}


def big_merge(scratch: Path) -> dict[str, Any]:
    """Merge times of a 100-model project from 0.4.0, against its render time."""
    spec_file = scratch / "bench.yml"
    spec_file.write_text(spec_of_size(MODELS), encoding="utf-8")
    project_dir = scratch / "bench"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "uowgen",
            "new",
            str(project_dir),
            "--spec",
            str(spec_file),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(unpack("0.4.0", scratch))},
    )
    project = Project(project_dir)
    spec = project.rendered_spec()
    steps = steps_between("0.4.0", __version__)
    amended = spec_of(steps, spec)
    render_times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        theirs = render_tree(amended)
        render_times.append(time.perf_counter() - started)
    base = {p: c for p, c in tree(project_dir).items() if not merged_by_hand(p)}
    theirs = {p: c for p, c in theirs.items() if not merged_by_hand(p)}
    edited = 0
    for path in sorted(base):
        folder, _, name = path.rpartition("/")
        kind = folder.rpartition("/")[2]
        if kind in MODEL_EDITS and name.endswith(".py") and name != "base.py":
            stem = name.removesuffix(".py")
            if stem in {"__init__", "registry"}:
                continue
            extra = MODEL_EDITS[kind].format(n=edited, name=stem)
            with (project_dir / path).open("a", encoding="utf-8") as file:
                file.write(extra)
            edited += 1
    both = sum(1 for p in base if p in theirs and base[p] != theirs[p])
    timings: dict[str, list[float]] = {"lines": [], "statements": []}
    plans = {}
    for _ in range(RUNS):
        for mode in ("lines", "statements"):
            started = time.perf_counter()
            plans[mode] = plan_merge(
                base=base,
                theirs=theirs,
                ours=project_dir,
                moves=moves_of(steps, spec.package),
                by_statements=mode == "statements",
            )
            timings[mode].append(time.perf_counter() - started)
    return {
        "models": MODELS,
        "files": len(theirs),
        "files_the_template_changed": both,
        "files_the_team_edited": edited,
        "render_s": statistics.median(render_times),
        "merge_lines_s": statistics.median(timings["lines"]),
        "merge_statements_s": statistics.median(timings["statements"]),
        "merged_by_statements": len(plans["statements"].merged_by_statements),
        "merged_by_lines": len(plans["lines"].merged),
        "conflicts_lines": len(plans["lines"].conflicts),
        "conflicts_statements": len(plans["statements"].conflicts),
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="uowgen-merge-bench-") as folder:
        scratch = Path(folder)
        rows = corpus(scratch)
        speed = big_merge(scratch)
    total_lines = sum(row["lines"]["false_conflicts"] for row in rows)
    total_py = sum(row["py"]["false_conflicts"] for row in rows)
    print(
        "| pair | edits | true conflicts | conflicts by lines (false) "
        "| conflicts by statements (false) | merged by statements | kept |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        lines, py = row["lines"], row["py"]
        kept = "all" if not (lines["lost"] or py["lost"]) else "LOST"
        print(
            f"| {row['pair']} | {py['applied']} | {py['true_conflicts']} "
            f"| {lines['conflicts']} ({lines['false_conflicts']}) "
            f"| {py['conflicts']} ({py['false_conflicts']}) "
            f"| {py['merged_by_statements']} | {kept} |"
        )
    fewer = 1 - total_py / total_lines if total_lines else 0.0
    print(
        f"\nFalse conflicts: {total_lines} by lines, {total_py} by statements "
        f"({fewer:.0%} fewer)."
    )
    for row in rows:
        print(f"  {row['pair']}: still false by statements: {row['py']['false']}")
    print(
        f"\n{speed['models']} models, {speed['files']} files; the template changed "
        f"{speed['files_the_template_changed']}, the team edited "
        f"{speed['files_the_team_edited']}:"
    )
    print(
        "| render s | merge by lines s | merge by statements s | by statements "
        "| conflicts (lines/statements) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {speed['render_s']:.2f} | {speed['merge_lines_s']:.2f} "
        f"| {speed['merge_statements_s']:.2f} | {speed['merged_by_statements']} "
        f"| {speed['conflicts_lines']}/{speed['conflicts_statements']} |"
    )
    OUT.write_text(
        json.dumps(
            {
                "uowgen": __version__,
                "python": platform.python_version(),
                "corpus": rows,
                "false_conflicts": {"lines": total_lines, "statements": total_py},
                "speed": speed,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
