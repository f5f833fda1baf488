"""Do two uowgen versions build the same database? Compare fresh schemas, not text.

For every spec in REV's examples/ and tests/specs/ (each also with `admin: true`),
render the project with this checkout and with the commit REV (its own code, from a
git worktree), run `alembic upgrade head` on an empty SQLite file and on an empty
PostgreSQL database (a throwaway cluster), and compare what was built:

- SQLite: every table's columns (PRAGMA table_info), foreign keys, indexes and
  their columns, AUTOINCREMENT, and the CHECK constraints;
- PostgreSQL: `pg_dump --schema-only`, which lists constraints and indexes by name.

Run: .venv/bin/python benchmarks/schema_compare.py [REV]   (default bc80d06, 0.4.0)
Prints one line per project and writes benchmarks/schema_compare.json; exits 1 on
any difference (and prints it).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.postgres import Cluster, _run, throwaway_cluster

RENDER = """
import sys
from pathlib import Path
from uowgen import generate, parse_spec
import yaml
data = yaml.safe_load(Path(sys.argv[1]).read_text())
generate(parse_spec(data), Path(sys.argv[2]))
"""


def specs(root: Path) -> dict[str, dict[str, object]]:
    """Every example and test spec of `root`, each also with the admin on.

    The older version's specs: a field type added since would not render there.
    """
    found: dict[str, dict[str, object]] = {}
    paths = sorted((root / "examples").glob("*.yml"))
    paths += sorted((root / "tests" / "specs").glob("*.yml"))
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        found[path.stem] = data
        found[f"{path.stem}-admin"] = {**data, "admin": True}
    return found


def render(source: Path, data: dict[str, object], into: Path) -> None:
    """Render `data` with the uowgen whose source is `source` (its own code)."""
    spec_file = into.with_suffix(".yml")
    spec_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    subprocess.run(
        [sys.executable, "-c", RENDER, str(spec_file), str(into)],
        env={**os.environ, "PYTHONPATH": str(source / "src")},
        check=True,
        capture_output=True,
    )


def upgrade(project: Path, url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(project / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"{project}: alembic upgrade head failed:\n{result.stderr}")


def sqlite_schema(project: Path) -> str:
    database = Path(tempfile.mkdtemp()) / "app.db"
    upgrade(project, f"sqlite+aiosqlite:///{database}")
    connection = sqlite3.connect(database)
    lines: list[str] = []
    tables = connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"
    ).fetchall()
    for name, sql in tables:
        lines.append(f"table {name} autoincrement={'AUTOINCREMENT' in sql}")
        lines += [f"  column {row}" for row in connection.execute(
            f"PRAGMA table_info('{name}')")]  # fmt: skip
        # (id, seq) are declaration order; the rest is what the key is.
        lines += sorted(f"  foreign key {row[2:]}" for row in connection.execute(
            f"PRAGMA foreign_key_list('{name}')"))  # fmt: skip
        indexes = connection.execute(f"PRAGMA index_list('{name}')").fetchall()
        for index in sorted(indexes, key=lambda row: row[1]):
            columns = [row[2] for row in connection.execute(
                f"PRAGMA index_info('{index[1]}')")]  # fmt: skip
            lines.append(f"  index {index[1:]} {columns}")
        checks = re.findall(r"CONSTRAINT (\w+) CHECK \((.*?)\)(?:,|\n)", sql)
        lines += sorted(f"  check {check}" for check in checks)
    connection.close()
    return "\n".join(lines)


def postgres_schema(project: Path, cluster: Cluster, database: str) -> str:
    client = ("-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres")
    _run([str(cluster.bin_dir / "createdb"), *client, database], cluster.run_as)
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{cluster.port}/{database}"
    upgrade(project, url)
    dump = _run(
        [str(cluster.bin_dir / "pg_dump"), "--schema-only", *client, database],
        cluster.run_as,
    ).stdout
    # Comments, and the random token pg_dump 15.14+ writes around the dump.
    return "\n".join(
        line
        for line in dump.splitlines()
        if not line.startswith("--") and not line.startswith(("\\restrict", "\\unr"))
    )


def main() -> None:
    rev = sys.argv[1] if len(sys.argv) > 1 else "bc80d06"
    results = []
    different = False
    with tempfile.TemporaryDirectory() as scratch, throwaway_cluster() as cluster:
        base = Path(scratch) / "base"
        subprocess.run(
            [
                "git",
                "-C",
                str(REPO),
                "worktree",
                "add",
                "-q",
                "--detach",
                str(base),
                rev,
            ],
            check=True,
        )
        try:
            for number, (name, data) in enumerate(specs(base).items()):
                old, new = Path(scratch) / f"old-{name}", Path(scratch) / f"new-{name}"
                render(base, data, old)
                render(REPO, data, new)
                pair = {
                    "sqlite": (sqlite_schema(old), sqlite_schema(new)),
                    "postgresql": (
                        postgres_schema(old, cluster, f"old_{number}"),
                        postgres_schema(new, cluster, f"new_{number}"),
                    ),
                }
                row: dict[str, object] = {"project": name}
                for kind, (before, after) in pair.items():
                    row[kind] = before == after
                    row[f"{kind}_lines"] = len(after.splitlines())
                    if before != after:
                        different = True
                        print("\n".join(difflib.unified_diff(
                            before.splitlines(), after.splitlines(),
                            f"{name} {kind} at {rev}", f"{name} {kind} now",
                            lineterm="")))  # fmt: skip
                results.append(row)
                print(
                    f"{name:<20} sqlite "
                    f"{'identical' if row['sqlite'] else 'DIFFERENT'} "
                    f"({row['sqlite_lines']} lines)   postgresql "
                    f"{'identical' if row['postgresql'] else 'DIFFERENT'} "
                    f"({row['postgresql_lines']} lines)"
                )
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)],
                check=False,
            )
    out = Path(__file__).with_name("schema_compare.json")
    out.write_text(json.dumps({"base": rev, "projects": results}, indent=2) + "\n")
    print(f"wrote {out}")
    sys.exit(1 if different else 0)


if __name__ == "__main__":
    main()
