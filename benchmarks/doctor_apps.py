"""Real FastAPI + SQLAlchemy applications doctor is measured on (issue 21).

Each is a public repository pinned to a commit. Their code is never committed here:
it is read from a git mirror of the repository (`UOWGEN_APPS_MIRROR`, default
`/work/.mirror`, one `<owner>+<name>/repo` git directory per repository, as the
project's tooling fetches them), and the Python files, lock files and requirements
of the pinned commit are unpacked once into `~/.cache/uowgen/doctor-apps/`
(`UOWGEN_CACHE_DIR` moves it). Without a mirror, nothing can be measured: the
precision test (`tests/unit/test_doctor_apps.py`) skips, saying so.

The hand-checked verdicts on every finding are `benchmarks/doctor_apps_verdicts.csv`:
repository, commit, path, line, rule, verdict (true/false) and one line why.

Run: .venv/bin/python benchmarks/doctor_apps.py
Prints each application's folder, files and findings per rule, then the precision
per rule from the verdicts, and lists findings without a verdict.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

VERDICTS = Path(__file__).with_name("doctor_apps_verdicts.csv")


@dataclass(frozen=True)
class App:
    """One application: its repository, the commit, and the folder doctor checks."""

    repository: str
    commit: str
    folder: str  # inside the repository ("" for its root)
    kind: str  # what it is, for the table


APPS: tuple[App, ...] = (
    # Large production applications (over 1,500 Python files each).
    App(
        "polarsource/polar",
        "c6c3645e639ee8eeaa05aa0835cf8e39e330382f",
        "server",
        "payments platform; repository layer over AsyncSession",
    ),
    App(
        "onyx-dot-app/onyx",
        "a7d66a8b778c3f9026c4f89dae47d14a3f84816f",
        "backend",
        "enterprise search and chat; sync and async sessions",
    ),
    App(
        "Skyvern-AI/skyvern",
        "07222e7a7caae79aacd5908c30e4a4445fce5f9b",
        "",
        "browser automation service; async sessions",
    ),
    App(
        "Arize-ai/phoenix",
        "9478f954bbc6175a0eaef398d0a92c1d967c3bfe",
        "",
        "LLM observability server; async sessions",
    ),
    # Mid-sized applications.
    App(
        "Netflix/dispatch",
        "dd2837e82a0bf5565b1b4b4b91ea30b7262d4061",
        "",
        "incident management; sync sessions",
    ),
    App(
        "mealie-recipes/mealie",
        "b5643a9399465d8b4ea339e7a6639df2d697741b",
        "",
        "recipe manager; repository layer over sync sessions",
    ),
    App(
        "pyostr-market/PRODUCT",
        "5ab71e03f862989fcd61e74c9b716f1cbed6325c",
        "",
        "marketplace backend; unit of work over AsyncSession",
    ),
    # Small applications and boilerplates.
    App(
        "Astapot9132/game",
        "0411ef7765f7992ea91422b26c7e515299b0fff6",
        "",
        "game backend; unit of work over AsyncSession",
    ),
    App(
        "shiaOmsword/support_bot",
        "f63918531fb8cdfd375770ef3f70a4da1c3e15c6",
        "",
        "support bot; unit of work over async_sessionmaker",
    ),
    App(
        "teamhide/fastapi-boilerplate",
        "df4e6d4f817ec187eeaf2d1c5a877b27c06bb77b",
        "",
        "boilerplate; scoped AsyncSession, transactional decorator",
    ),
    App(
        "igorbenav/FastAPI-boilerplate",
        "61d84fa0d5b550ca35561114d0173c764da8a1e1",
        "",
        "boilerplate; AsyncSession with fastcrud",
    ),
    App(
        "fastapi/full-stack-fastapi-template",
        "68adb40d37425f6f8668ec7e5a054500d045e43e",
        "",
        "FastAPI's template; sync SQLModel",
    ),
    App(
        "rafsaf/minimal-fastapi-postgres-template",
        "5a39f65b1fc3709b1fd4c394a4d9e8f2dce2280e",
        "",
        "template; AsyncSession",
    ),
)

# What is unpacked: the code, and what says which FastAPI it runs (UOW002).
_MEMBERS = ("*.py", "*.pyi", "*pyproject.toml", "*.lock", "*requirements*.txt")


def mirror_root() -> Path:
    """Where the repositories' git directories are."""
    return Path(os.environ.get("UOWGEN_APPS_MIRROR", "/work/.mirror"))


def cache_dir() -> Path:
    """Where the unpacked applications live."""
    base = os.environ.get("UOWGEN_CACHE_DIR")
    root = Path(base) if base else Path.home() / ".cache" / "uowgen"
    return root / "doctor-apps"


def checkout(app: App) -> Path | None:
    """The application's checked folder at its commit, or None if it cannot be had."""
    target = cache_dir() / f"{app.repository.replace('/', '+')}-{app.commit[:12]}"
    if not (target / ".complete").is_file():
        git_dir = mirror_root() / app.repository.replace("/", "+") / "repo"
        if not git_dir.is_dir():
            return None
        if not _unpack(git_dir, app.commit, target):
            return None
        # The repository's root, for the FastAPI version's search to stop at.
        (target / ".git").mkdir(exist_ok=True)
        (target / ".complete").write_text(app.commit + "\n", encoding="utf-8")
    return target / app.folder if app.folder else target


def _unpack(git_dir: Path, commit: str, target: Path) -> bool:
    """Write the wanted files of `commit` under `target` (blob by blob: a mirror may
    lack large binaries, which `git archive` would stop at)."""
    git = ["git", "--git-dir", str(git_dir)]
    listed = subprocess.run(
        [*git, "ls-tree", "-r", "-z", commit], capture_output=True, check=False
    )
    if listed.returncode != 0:
        return False
    wanted: list[tuple[str, str]] = []
    for entry in listed.stdout.decode("utf-8", "replace").split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if (
            len(parts) == 3
            and parts[1] == "blob"
            and any(PurePosixPath(path).match(p) for p in _MEMBERS)
        ):
            wanted.append((parts[2], path))
    batch = subprocess.run(
        [*git, "cat-file", "--batch"],
        input="".join(f"{sha}\n" for sha, _ in wanted).encode(),
        capture_output=True,
        check=False,
    )
    data = batch.stdout
    offset = 0
    for _, path in wanted:
        header_end = data.index(b"\n", offset)
        header = data[offset:header_end].split()
        offset = header_end + 1
        if len(header) < 3 or header[1] == b"missing":
            continue
        size = int(header[2])
        destination = target / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data[offset : offset + size])
        offset += size + 1
    return True


@dataclass(frozen=True)
class Verdict:
    """A hand-checked finding."""

    repository: str
    commit: str
    path: str
    line: int
    rule: str
    verdict: bool
    why: str


def read_verdicts() -> dict[tuple[str, str, int, str], Verdict]:
    """The verdicts, by (repository, path, line, rule)."""
    verdicts: dict[tuple[str, str, int, str], Verdict] = {}
    with VERDICTS.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            verdict = Verdict(
                row["repository"],
                row["commit"],
                row["path"],
                int(row["line"]),
                row["rule"],
                row["verdict"] == "true",
                row["why"],
            )
            key = (verdict.repository, verdict.path, verdict.line, verdict.rule)
            verdicts[key] = verdict
    return verdicts


def doctor_arguments(root: Path, extra: list[str]) -> list[str]:
    """`uowgen doctor`'s arguments for one application's JSON report, its config
    left out (the benchmarks run it as users do, each in a process of its own)."""
    return ["doctor", "--no-config", "--format", "json", *extra, str(root)]


# A finding: (path, line, rule, message, confidence), the path from the repository.
Found = tuple[str, int, str, str, str]


def findings(app: App, root: Path) -> list[Found]:
    """Each finding, paths relative to the repository."""
    from uowgen._doctor import run_doctor

    report = run_doctor([root], use_config=False, cwd=root)
    prefix = f"{app.folder}/" if app.folder else ""
    return [
        (prefix + f.display, f.line, f.code, f.message, f.confidence)
        for f in report.findings
    ]


def main() -> int:
    verdicts = read_verdicts()
    # (rule, confidence, verdict) -> findings
    counts: Counter[tuple[str, str, bool]] = Counter()
    missing: list[str] = []
    for app in APPS:
        root = checkout(app)
        if root is None:
            print(f"{app.repository}: no mirror at {mirror_root()}", file=sys.stderr)
            continue
        found = findings(app, root)
        by_rule = Counter(code for _, _, code, _, _ in found)
        print(f"{app.repository}\t{root}\t{dict(sorted(by_rule.items()))}")
        for path, line, code, message, confidence in found:
            verdict = verdicts.get((app.repository, path, line, code))
            if verdict is None:
                missing.append(f"{app.repository},{path},{line},{code}: {message}")
            else:
                counts[(code, confidence, verdict.verdict)] += 1
    # High confidence: what doctor reports as errors. Low: UOW003 in test code or in
    # code nothing imports, reported as notes (SARIF level `note`).
    print("\nrule\tconfidence\ttrue\tfalse\tprecision")
    for code, confidence in sorted({(code, level) for code, level, _ in counts}):
        right = counts[(code, confidence, True)]
        wrong = counts[(code, confidence, False)]
        print(f"{code}\t{confidence}\t{right}\t{wrong}\t{right / (right + wrong):.1%}")
    for entry in missing:
        print("no verdict:", entry)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
