"""The seed flow with 1, 2 and 4 uvicorn workers, directly and through PgBouncer.

The generated app's `/register` (the README's read, call, write) under 40 clients,
the external call taking 1.0 s, served by `uvicorn --workers N` (pool 10 + 10 per
worker): once against PostgreSQL directly, once through PgBouncer in transaction
mode (`default_pool_size` 20) with DB_POOLER=pgbouncer-transaction. Prints one
table and writes benchmarks/workers.json. About 4 minutes. Throughput is counted
twice: over the steady state (answers arriving after the ramp and a first call,
until the load stops starting requests), and over the whole run (all answers over
the wall time, ramp and tail included). Peak server connections: the most client
backends `pg_stat_activity` showed at once, sampled every 20 ms.

    python benchmarks/workers.py [--duration 12] [--clients 40] [--latency 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.lifecycle.harness import (
    ActivitySampler,
    AppServer,
    migrate,
    register_request,
    render_project,
    run_load,
    sql,
    stub_server,
)
from tests.pgbouncer import pgbouncer
from tests.postgres import throwaway_cluster

HERE = Path(__file__).resolve().parent
BOUNCER_POOL = 20
WORKERS = (1, 2, 4)


class ServerConnections(ActivitySampler):
    """Samples every client backend of the server (PgBouncer's or the app's)."""

    QUERY = """
        SELECT state, 0.0::float8 FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
          AND application_name NOT IN ('lifecycle-check') AND $1::text IS NOT NULL
    """


def run(
    url: str, pooler: bool, workers: int, args: argparse.Namespace, **ctx: Any
) -> dict[str, Any]:
    env = {
        "DATABASE_URL": url,
        "DB_APPLICATION_NAME": f"bench-workers-{workers}",
        "STUB_URL": ctx["stub_url"],
        "DB_POOL_SIZE": "10",
        "DB_MAX_OVERFLOW": "10",
        "WEB_CONCURRENCY": str(workers),
    }
    if pooler:
        env["DB_POOLER"] = "pgbouncer-transaction"
    server = AppServer(
        target="tests.lifecycle.apps.generated:create_app",
        env=env,
        log_path=ctx["logs"] / f"{'pgbouncer' if pooler else 'direct'}-{workers}.log",
        pythonpath=[ctx["project"] / "src", ROOT],
        workers=workers,
    ).start(timeout=60)
    try:
        register = register_request(ctx["type_id"], f"w{workers}{int(pooler)}-")
        # Warm every worker's pool (connections to the server or to PgBouncer).
        asyncio.run(
            run_load(
                server.url,
                lambda c, n: register(c, 10_000_000 + n),
                clients=args.clients,
                total=args.clients * 2,
                timeout=60,
            )
        )
        with ServerConnections(ctx["cluster_url"], "any") as sampler:
            result = asyncio.run(
                run_load(
                    server.url,
                    register,
                    clients=args.clients,
                    duration=args.duration,
                    timeout=60,
                    ramp=args.latency,
                )
            )
        ok = result.ok()
        # Steady state: answers that arrived once every client was in its loop
        # (after the ramp and one call) and before the load stopped starting more.
        start = min(o.started for o in result.outcomes)
        window = (start + 2 * args.latency, start + args.duration)
        steady = [o for o in ok if window[0] <= o.started + o.elapsed < window[1]]
        return {
            "target": "PgBouncer (transaction)" if pooler else "PostgreSQL directly",
            "workers": workers,
            "requests": len(result.outcomes),
            "errors": len(result.outcomes) - len(ok),
            "throughput_rps": round(len(ok) / result.wall_s, 1),
            "steady_rps": round(len(steady) / (window[1] - window[0]), 1),
            "p50_s": round(result.latency_quantile(0.5), 3),
            "p99_s": round(result.latency_quantile(0.99), 3),
            "peak_server_connections": sampler.max_connections,
            "log_has_traceback": "Traceback" in server.log(),
        }
    finally:
        server.stop(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=12.0)
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    work = Path(tempfile.mkdtemp(prefix="uowgen-bench-workers-"))
    with (
        throwaway_cluster() as cluster,
        pgbouncer(
            cluster,
            pool_size=BOUNCER_POOL,
            query_wait_timeout="5",
            server_login_retry="1",
        ) as bouncer,
        stub_server(args.latency) as stub_url,
    ):
        project = render_project(work / "fastbot")
        migrate(project, cluster.url)
        type_id = int(
            sql(
                cluster.url,
                "INSERT INTO user_types (code, name, version) "
                "VALUES ('bench', 'bench', 1) RETURNING id",
            )[0][0]
        )
        ctx = {
            "stub_url": stub_url,
            "project": project,
            "logs": work,
            "type_id": type_id,
            "cluster_url": cluster.url,
        }
        for pooler in (False, True):
            url = bouncer.url() if pooler else cluster.url
            for workers in WORKERS:
                row = run(url, pooler, workers, args, **ctx)
                print(row, flush=True)
                rows.append(row)
    ideal = args.clients / args.latency
    print()
    print(
        f"{args.clients} clients, external call {args.latency} s "
        f"(ideal {ideal:.0f} req/s), {args.duration:.0f} s per row, "
        f"pool 10 + 10 per worker, PgBouncer default_pool_size {BOUNCER_POOL}"
    )
    print()
    print(
        "| target | workers | steady req/s | % of ideal | whole run req/s | p50 s "
        "| p99 s | errors | peak server connections |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['target']} | {row['workers']} | {row['steady_rps']} "
            f"| {row['steady_rps'] / ideal * 100:.0f}% | {row['throughput_rps']} "
            f"| {row['p50_s']} | {row['p99_s']} | {row['errors']} "
            f"| {row['peak_server_connections']} |"
        )
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {
            "python": platform.python_version(),
            "cpus": len(os.sched_getaffinity(0)),
        },
        "clients": args.clients,
        "latency_s": args.latency,
        "duration_s": args.duration,
        "bouncer_pool_size": BOUNCER_POOL,
        "rows": rows,
    }
    (HERE / "workers.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
