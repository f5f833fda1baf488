"""Which driver set-up works behind PgBouncer in transaction mode, and how fast.

Starts a throwaway PostgreSQL and PgBouncer (`pool_mode = transaction`,
`default_pool_size = 10`), then runs the same load through PgBouncer with each
candidate engine: 40 concurrent tasks, each running transactions of a read (by
primary key) and an insert, for a fixed time. Every transaction begins with the
`SET LOCAL` of the two server timeouts, as the app does behind PgBouncer. Prints a
table (transactions/s, failed transactions and the first error) and writes JSON to
benchmarks/pgbouncer_drivers.json.

    python benchmarks/pgbouncer_drivers.py [--seconds 5] [--clients 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.pgbouncer import PgBouncer, pgbouncer
from tests.postgres import throwaway_cluster

HERE = Path(__file__).resolve().parent
TIMEOUTS = (
    "SELECT set_config('statement_timeout', '30000', true), "
    "set_config('idle_in_transaction_session_timeout', '60000', true)"
)


def _unique_name() -> str:
    return f"__asyncpg_{uuid4()}__"


def candidates(bouncer: PgBouncer) -> dict[str, Callable[[], AsyncEngine]]:
    """Each engine set-up under test, by the name the table shows."""
    asyncpg_url, psycopg_url = bouncer.url("asyncpg"), bouncer.url("psycopg")
    pool = {"pool_size": 20, "max_overflow": 20}  # a connection per client
    return {
        "asyncpg, startup timeouts (today's app)": lambda: create_async_engine(
            asyncpg_url,
            connect_args={"server_settings": {"statement_timeout": "30000"}},
            **pool,
        ),
        "asyncpg, defaults, QueuePool": lambda: create_async_engine(
            asyncpg_url, **pool
        ),
        "asyncpg, unique names + cache 0, QueuePool": lambda: create_async_engine(
            asyncpg_url,
            **pool,
            connect_args={
                "statement_cache_size": 0,
                "prepared_statement_name_func": _unique_name,
            },
        ),
        "asyncpg, unique names + cache 0, NullPool": lambda: create_async_engine(
            asyncpg_url,
            poolclass=NullPool,
            connect_args={
                "statement_cache_size": 0,
                "prepared_statement_name_func": _unique_name,
            },
        ),
        "psycopg 3, defaults, QueuePool": lambda: create_async_engine(
            psycopg_url, **pool
        ),
        "psycopg 3, prepare_threshold=None, QueuePool": lambda: create_async_engine(
            psycopg_url, connect_args={"prepare_threshold": None}, **pool
        ),
    }


async def run_one(
    make: Callable[[], AsyncEngine], clients: int, seconds: float
) -> dict[str, Any]:
    engine = make()
    done = failed = 0
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    async def worker(index: int) -> None:
        nonlocal done, failed
        n = 0
        while time.monotonic() < deadline:
            n += 1
            try:
                async with engine.begin() as conn:
                    await conn.execute(text(TIMEOUTS))
                    await conn.execute(
                        text("SELECT id, name FROM items WHERE id = :id"),
                        {"id": (index * 7 + n) % 100 + 1},
                    )
                    await conn.execute(
                        text("INSERT INTO items (name) VALUES (:name)"),
                        {"name": f"w{index}-{n}"},
                    )
                done += 1
            except Exception as exc:  # noqa: BLE001 (counted and shown)
                failed += 1
                if len(errors) < 1:
                    errors.append(str(getattr(exc, "orig", exc)).splitlines()[0])
                await asyncio.sleep(0.01)

    started = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    wall = time.monotonic() - started
    await engine.dispose()
    return {
        "transactions_per_s": round(done / wall, 1),
        "ok": done,
        "failed": failed,
        "first_error": errors[0][:90] if errors else "",
    }


async def prepare(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            text("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)")
        )
        await conn.execute(
            text(
                "INSERT INTO items (name) SELECT 'i' || g FROM generate_series(1,100) g"
            )
        )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=40)
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with throwaway_cluster() as cluster, pgbouncer(cluster, pool_size=10) as bouncer:
        asyncio.run(prepare(cluster.url))
        for name, make in candidates(bouncer).items():
            results[name] = asyncio.run(run_one(make, args.clients, args.seconds))
            print(name, results[name], flush=True)
    print()
    print(
        "| engine through PgBouncer (transaction mode) | tx/s | ok | failed | first error |"
    )
    print("|---|---|---|---|---|")
    for name, row in results.items():
        print(
            f"| {name} | {row['transactions_per_s']} | {row['ok']} | {row['failed']} "
            f"| {row['first_error']} |"
        )
    out = {"clients": args.clients, "seconds": args.seconds, "results": results}
    (HERE / "pgbouncer_drivers.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
