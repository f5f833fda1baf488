"""The lifecycle benchmark: one command, prints a table, writes benchmarks/results.json.

    python benchmarks/run.py            # about 3 minutes on 2 cores

Starts a throwaway PostgreSQL (tests/postgres.py), renders examples/fastbot.yml,
and serves each app with uvicorn on 127.0.0.1 (tests/lifecycle/harness.py):

1. The seed flow (check the email, call a slow external service, create the user)
   under load: the generated project running the README's worked example, against
   the seed's session-per-request pattern and the same flow written the
   advanced-alchemy way (tests/lifecycle/apps/).
2. The overhead of the generated layers: GET by id and create through routes ->
   services -> unit of work -> repositories, against hand-written handlers running
   the same queries in the same server on the same pool, alternating.
3. SQL statements per request of a list endpoint with a reference, 10 and 100 rows.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.lifecycle.harness import (
    ActivitySampler,
    AppServer,
    Connection,
    Response,
    migrate,
    register_request,
    render_project,
    run_load,
    sql,
    stub_server,
)
from tests.postgres import Cluster, throwaway_cluster

APPS = {
    "generated": "uowgen project (README read-call-write)",
    "seed": "seed: session per request",
    "advanced": "advanced-alchemy (autocommit, service)",
}


def serve(
    app: str, cluster: Cluster, project: Path, logs: Path, **env: object
) -> AppServer:
    environment = {
        "DATABASE_URL": cluster.url,
        "DB_APPLICATION_NAME": f"bench-{app}",
        **{key.upper(): str(value) for key, value in env.items()},
    }
    return AppServer(
        target=f"tests.lifecycle.apps.{app}:create_app",
        env=environment,
        log_path=logs / f"{app}.log",
        pythonpath=[project / "src", ROOT],
    ).start()


def new_user_type(cluster: Cluster) -> int:
    rows = sql(
        cluster.url,
        "INSERT INTO user_types (code, name, version) VALUES ($1, 'bench', 1) "
        "RETURNING id",
        f"bench-{time.monotonic_ns()}",
    )
    return int(rows[0][0])


# ------------------------------------------------------------------ 1. seed flow


def seed_flow(
    cluster: Cluster, project: Path, logs: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    rows = []
    type_id = new_user_type(cluster)
    with stub_server(args.latency) as stub_url:
        for app in APPS:
            server = serve(
                app, cluster, project, logs,
                db_pool_size=args.pool_size, db_max_overflow=0, stub_url=stub_url,
            )  # fmt: skip
            try:
                rows.append(
                    seed_flow_run(
                        app,
                        server,
                        cluster,
                        type_id,
                        args.clients,
                        args.duration,
                        args.latency,
                    )
                )
            finally:
                server.stop()
    return rows


def seed_flow_run(
    app: str,
    server: AppServer,
    cluster: Cluster,
    type_id: int,
    clients: int,
    duration: float,
    latency: float,
) -> dict[str, Any]:
    register = register_request(type_id, f"{app}-")

    # One request first, so every app starts with its pool warm the same way.
    asyncio.run(run_load(server.url, register, clients=1, total=1))
    before, cpu_before = server.stats(), server.cpu_seconds()
    with ActivitySampler(cluster.url, server.env["DB_APPLICATION_NAME"]) as sampler:
        result = asyncio.run(
            run_load(
                server.url,
                lambda c, n: register(c, n + 1),
                clients=clients,
                duration=duration,
                timeout=60,
                # Clients start spread over one external latency, not all at once:
                # with a fixed latency, a simultaneous start would come back as
                # the same burst every cycle, queueing on the event loop.
                ramp=latency,
            )
        )
    after, cpu_after = server.stats(), server.cpu_seconds()
    activity = sampler.summary()
    ok = result.ok()
    return {
        "app": app,
        "label": APPS[app],
        "requests": len(result.outcomes),
        "ok": len(ok),
        "errors": len(result.outcomes) - len(ok),
        "throughput_rps": len(ok) / result.wall_s,
        "p50_s": result.latency_quantile(0.50),
        "p99_s": result.latency_quantile(0.99),
        "longest_idle_in_transaction_s": activity.longest_idle_in_transaction_s,
        "mean_checked_out": (
            after["checked_out_seconds"] - before["checked_out_seconds"]
        )
        / (after["time"] - before["time"]),
        "cpu_ms_per_request": (cpu_after - cpu_before) / max(len(ok), 1) * 1000,
        "activity_samples": activity.samples,
    }


# ------------------------------------------------------------------- 2. overhead


def overhead(
    cluster: Cluster, project: Path, logs: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    type_id = new_user_type(cluster)
    server = serve("generated", cluster, project, logs)
    try:
        user_id = server_create_user(server, type_id)
        routes = {
            ("get", "generated"): lambda c, _n: c.get(f"/users/{user_id}"),
            ("get", "hand-written"): lambda c, _n: c.get(f"/raw/users/{user_id}"),
            ("create", "generated"): lambda c, n: c.post(
                "/users", json=user_body(type_id, f"g{n}-{time.monotonic_ns()}")
            ),
            ("create", "hand-written"): lambda c, n: c.post(
                "/raw/users", json=user_body(type_id, f"h{n}-{time.monotonic_ns()}")
            ),
        }
        samples: dict[tuple[str, str], list[tuple[int, float, float]]] = {
            key: [] for key in routes
        }
        for request in routes.values():  # warm-up
            asyncio.run(run_load(server.url, request, clients=4, total=200))
        for round_ in range(args.rounds):
            for operation in ("get", "create"):
                order = ["generated", "hand-written"]
                if round_ % 2:
                    order.reverse()
                for stack in order:
                    request = routes[(operation, stack)]
                    cpu = server.cpu_seconds()
                    result = asyncio.run(
                        run_load(server.url, request, clients=args.overhead_clients,
                                 duration=args.round_seconds)
                    )  # fmt: skip
                    assert len(result.ok()) == len(result.outcomes), result.statuses()
                    samples[(operation, stack)].append(
                        (len(result.ok()), result.wall_s, server.cpu_seconds() - cpu)
                    )
    finally:
        server.stop()
    rows = []
    for (operation, stack), runs in samples.items():
        requests = sum(n for n, _, _ in runs)
        rows.append(
            {
                "operation": operation,
                "stack": stack,
                "requests": requests,
                "throughput_rps": requests / sum(w for _, w, _ in runs),
                "throughput_rps_median_round": statistics.median(
                    n / w for n, w, _ in runs
                ),
                "cpu_ms_per_request": sum(c for _, _, c in runs) / requests * 1000,
            }
        )
    return rows


async def list_users(client: Connection, _n: int, *, limit: int) -> Response:
    return await client.get(f"/users?limit={limit}")


def user_body(type_id: int, tag: str) -> dict[str, Any]:
    return {"email": f"{tag}@example.com", "first_name": "O", "type_id": type_id}


def server_create_user(server: AppServer, type_id: int) -> int:
    async def create(client: Connection, _n: int) -> Response:
        return await client.post("/users", json=user_body(type_id, "overhead-target"))

    result = asyncio.run(
        run_load(server.url, create, clients=1, total=1, keep_body=True)
    )
    (outcome,) = result.outcomes
    assert outcome.status == 201, outcome
    return int(outcome.body["id"])


# ------------------------------------------------------------ 3. queries/request


def queries_per_request(
    cluster: Cluster, project: Path, logs: Path
) -> list[dict[str, Any]]:
    type_id = new_user_type(cluster)
    sql(
        cluster.url,
        "INSERT INTO users (email, first_name, is_active, type_id, version) "
        "SELECT 'q' || g || '@example.com', 'Q', true, $1, 1 "
        "FROM generate_series(1, 150) g",
        type_id,
    )
    server = serve("generated", cluster, project, logs)
    rows = []
    try:
        for limit in (10, 100):
            before = server.stats()["statements"]
            page = functools.partial(list_users, limit=limit)
            result = asyncio.run(
                run_load(
                    server.url,
                    page,
                    clients=1,
                    total=1,
                    keep_body=True,
                )
            )
            (outcome,) = result.outcomes
            assert outcome.status == 200 and len(outcome.body["data"]) == limit
            statements = server.stats()["statements"] - before
            rows.append(
                {"endpoint": "GET /users", "limit": limit, "statements": statements}
            )
    finally:
        server.stop()
    return rows


# ---------------------------------------------------------------------- output


def machine() -> dict[str, Any]:
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(memory_kb / 2**20, 1),
        "python": platform.python_version(),
        "postgres": sql_version(),
    }


_VERSION: list[str] = []


def sql_version() -> str:
    return _VERSION[0] if _VERSION else "?"


def print_tables(report: dict[str, Any]) -> None:
    args = report["settings"]
    print(
        f"\nSeed flow: pool_size {args['pool_size']}, max_overflow 0, "
        f"{args['clients']} clients, {args['latency']} s external latency, "
        f"{args['duration']} s (bound: {args['clients'] / args['latency']:.0f} req/s)\n"
    )
    print(
        "| app | req/s | p50 s | p99 s | longest idle in tx | mean checked out | CPU ms/req | errors |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in report["seed_flow"]:
        print(
            f"| {row['label']} | {row['throughput_rps']:.1f} | {row['p50_s']:.2f} "
            f"| {row['p99_s']:.2f} | {row['longest_idle_in_transaction_s'] * 1000:.0f} ms "
            f"| {row['mean_checked_out']:.2f} | {row['cpu_ms_per_request']:.1f} "
            f"| {row['errors']} |"
        )
    print(
        f"\nOverhead of the layers: {args['overhead_clients']} clients, "
        f"{args['rounds']} alternating rounds of {args['round_seconds']} s each\n"
    )
    print("| operation | stack | req/s | CPU ms/req | vs hand-written (req/s, CPU) |")
    print("|---|---|---:|---:|---:|")
    by_key = {(r["operation"], r["stack"]): r for r in report["overhead"]}
    for (operation, stack), row in by_key.items():
        base = by_key[(operation, "hand-written")]
        ratio = (
            f"{row['throughput_rps'] / base['throughput_rps'] * 100:.0f}%, "
            f"{row['cpu_ms_per_request'] / base['cpu_ms_per_request'] * 100:.0f}%"
        )
        print(
            f"| {operation} | {stack} | {row['throughput_rps']:.0f} "
            f"| {row['cpu_ms_per_request']:.2f} | {ratio} |"
        )
    print("\nSQL statements per request\n")
    print("| endpoint | page size | statements |")
    print("|---|---:|---:|")
    for row in report["queries_per_request"]:
        print(f"| {row['endpoint']} | {row['limit']} | {row['statements']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--pool-size", type=int, default=5)
    parser.add_argument("--overhead-clients", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--round-seconds", type=float, default=3.0)
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results.json"
    )
    args = parser.parse_args()
    try:
        import advanced_alchemy  # noqa: F401
    except ImportError:
        sys.exit("advanced-alchemy is missing: pip install -e '.[dev,bench]'")

    report: dict[str, Any] = {"settings": vars(args) | {"output": str(args.output)}}
    with (
        tempfile.TemporaryDirectory(prefix="uowgen-bench-") as tmp,
        throwaway_cluster() as cluster,
    ):
        logs = Path(tmp)
        _VERSION.append(str(sql(cluster.url, "SHOW server_version")[0][0]))
        project = render_project(logs / "fastbot")
        migrate(project, cluster.url)
        report["machine"] = machine()
        print(f"machine: {report['machine']}", flush=True)
        print("1/3 seed flow ...", flush=True)
        report["seed_flow"] = seed_flow(cluster, project, logs, args)
        print("2/3 overhead of the layers ...", flush=True)
        report["overhead"] = overhead(cluster, project, logs, args)
        print("3/3 statements per request ...", flush=True)
        report["queries_per_request"] = queries_per_request(cluster, project, logs)
    print_tables(report)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwritten: {args.output}")


if __name__ == "__main__":
    main()
