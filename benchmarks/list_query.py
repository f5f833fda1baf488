"""A filtered, sorted list page at the start and deep in a 1,000,000-row table.

Renders a small spec (items with a sortable price, an enum level and a ref), fills
a throwaway PostgreSQL with `--rows` items (every other one `beginner`), serves the
app on 127.0.0.1 and times `GET /items?level=beginner&sort=-price&limit=10`: the
first page, page 20,000 (of 50,000) by the previous page's cursor, and the same
page by OFFSET; the id-order keyset (`after`) for comparison. Prints the table and writes
`benchmarks/list_query.json`.

    .venv/bin/python benchmarks/list_query.py            # ~3 min
    .venv/bin/python benchmarks/list_query.py --rows 100000 --requests 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.postgres import throwaway_cluster
from uowgen import generate, parse_spec

SPEC = {
    "project_name": "Bench",
    "models": [
        {"name": "Shelf", "fields": [{"name": "title", "type": "str"}]},
        {
            "name": "Item",
            "fields": [
                {"name": "title", "type": "str", "max_length": 200},
                {"name": "price", "type": "decimal", "sortable": True},
                {
                    "name": "level",
                    "type": "enum",
                    "values": ["beginner", "advanced"],
                },
                {"name": "shelf", "type": "ref", "to": "Shelf"},
            ],
        },
    ],
}
LIMIT = 10
QUERY = f"level=beginner&sort=-price&limit={LIMIT}&total=false"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def fill(url: str, rows: int) -> None:
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        shelf = await connection.fetchval(
            "INSERT INTO shelves (title, version) VALUES ('bench', 1) RETURNING id"
        )
        # Prices repeat (ties broken by id); every other row is `beginner`.
        await connection.execute(
            "INSERT INTO items (title, price, level, shelf_id, version) "
            "SELECT 'item ' || g, (g::bigint * 7919 % 100000) / 100.0, "
            "CASE WHEN g % 2 = 0 THEN 'beginner' ELSE 'advanced' END, $1, 1 "
            "FROM generate_series(1, $2::int) g",
            shelf,
            rows,
        )
        await connection.execute("VACUUM ANALYZE items")
    finally:
        await connection.close()


async def sql(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def timed(
    client: httpx.AsyncClient, url: str, requests: int, database: str
) -> dict[str, Any]:
    for _ in range(10):  # warm: plans cached, connections open
        (await client.get(url)).raise_for_status()
    # Buffers (8 kB pages) the SELECT of the page read, from pg_stat_statements: the
    # work, which the shared machine's noise in the timings leaves alone.
    stats = await asyncpg.connect(database.replace("+asyncpg", ""))
    try:
        await stats.execute("SELECT pg_stat_statements_reset()")
        latencies = []
        for _ in range(requests):
            started = time.perf_counter()
            response = await client.get(url)
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
        calls, blocks = await stats.fetchrow(
            "SELECT sum(calls), sum(shared_blks_hit + shared_blks_read) "
            "FROM pg_stat_statements WHERE query LIKE 'SELECT items.%FROM items%'"
        )
    finally:
        await stats.close()
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p90_ms": latencies[int(0.9 * (len(latencies) - 1))] * 1000,
        "buffers_per_page": float(blocks / calls),
        "rows": len(response.json()["data"]),
    }


async def measure(
    base: str, database: str, args: argparse.Namespace
) -> list[dict[str, Any]]:
    deep_page = args.deep_page
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        # The cursor of page `deep_page`: the page before it, reached by OFFSET once.
        before = await client.get(f"/items?{QUERY}&offset={(deep_page - 2) * LIMIT}")
        before.raise_for_status()
        cursor = before.json()["next_cursor"]
        assert cursor is not None, "the table has fewer pages than --deep-page"
        # The id order's keyset, as the lifecycle benchmark's `deep` measures it.
        deep_id = await client.get(
            f"/items?level=beginner&limit=1&total=false&offset={(deep_page - 1) * LIMIT}"
        )
        after = deep_id.json()["data"][0]["id"] - 1
        variants = {
            "page 1, cursor order": f"/items?{QUERY}",
            f"page {deep_page:,}, cursor": f"/items?{QUERY}&cursor={cursor}",
            f"page {deep_page:,}, OFFSET": (
                f"/items?{QUERY}&offset={(deep_page - 1) * LIMIT}"
            ),
            "page 1, id order": f"/items?level=beginner&limit={LIMIT}&total=false",
            f"page {deep_page:,}, id order, after": (
                f"/items?level=beginner&limit={LIMIT}&total=false&after={after}"
            ),
            "page 1, cursor order, with the total": (
                f"/items?level=beginner&sort=-price&limit={LIMIT}"
            ),
        }
        rows = []
        for label, url in variants.items():
            result = await timed(client, url, args.requests, database)
            rows.append({"page": label, "query": url, **result})
            print(
                f"{label:40} {result['p50_ms']:8.1f} {result['p90_ms']:8.1f} "
                f"{result['buffers_per_page']:10.0f}"
            )
        return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--deep-page", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/list_query.json")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as scratch,
        throwaway_cluster(shared_preload_libraries="pg_stat_statements") as cluster,
    ):
        project = generate(parse_spec(SPEC), Path(scratch) / "bench")
        env = {
            **os.environ,
            "DATABASE_URL": cluster.url,
            "PYTHONPATH": str(project / "src"),
            # OFFSET pages hold a connection for seconds: no warning for each.
            "DB_SLOW_TRANSACTION_MS": "0",
        }
        subprocess.run(
            [sys.executable, "-m", "alembic", "upgrade", "head"],
            cwd=project,
            env=env,
            check=True,
            capture_output=True,
        )
        started = time.monotonic()
        asyncio.run(fill(cluster.url, args.rows))
        asyncio.run(sql(cluster.url, "CREATE EXTENSION pg_stat_statements"))
        print(f"{args.rows:,} rows in {time.monotonic() - started:.0f} s")
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "bench.main:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            ],
            cwd=project,
            env=env,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    httpx.get(f"{base}/openapi.json", timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            rows = asyncio.run(measure(base, cluster.url, args))
        finally:
            server.terminate()
            server.wait(timeout=15)
    args.out.write_text(
        json.dumps(
            {
                "rows": args.rows,
                "limit": LIMIT,
                "requests": args.requests,
                "pages": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print("\n| page | p50 ms | p90 ms | buffers read |\n|---|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['page']} | {row['p50_ms']:.1f} | {row['p90_ms']:.1f} "
            f"| {row['buffers_per_page']:,.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
