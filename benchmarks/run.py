"""The lifecycle benchmark: one command, prints a table, writes benchmarks/results.json.

    python benchmarks/run.py            # about 20 minutes on 2 cores

Starts a throwaway PostgreSQL (tests/postgres.py), renders examples/fastbot.yml,
and serves each app with uvicorn on 127.0.0.1 (tests/lifecycle/harness.py), alone on
the first CPU (`--no-pin`: anywhere). Sections (`--only`):

- seed-flow: the seed flow (check the email, call a slow external service, create
  the user) under load: the generated project running the README's worked example,
  against the seed's session-per-request pattern and the same flow written the
  advanced-alchemy way (tests/lifecycle/apps/).
- seed-vs-handwritten: the README's example against a hand-written handler with
  early commits (same queries, server and pool), in alternating rounds, with and
  without the startup gc.freeze(): req/s, CPU per request, longest
  idle-in-transaction stretch, GC pauses; transactions per request from
  pg_stat_database.
- overhead: GET by id and create through routes -> services -> unit of work ->
  repositories, against hand-written handlers, alternating; paired round ratios.
- calls: Python function calls per request of the same (benchmarks/calls.py).
- instructions: machine instructions per request in the server process, under
  valgrind's callgrind (GET, create, the seed flow).
- restart: PostgreSQL restarted while idle and under load, with the generated
  closed-connection check, with pool_pre_ping, with neither.
- queries: SQL statements per request of a list endpoint, 10 and 100 rows.
- deep: a list page at offset 0 and deep into a million users, OFFSET against keyset
  (`after`), with and without the total.

`--only <section>` runs one section.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.lifecycle.harness import (
    ActivitySampler,
    AppServer,
    Connection,
    Request,
    Response,
    insert_user_type,
    load_through_restart,
    migrate,
    mixed_request,
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


# The CPUs the app servers run on (main() gives them one of their own, so the load
# generator, PostgreSQL and the stub never take the app's core); None: any.
APP_CPUS: frozenset[int] | None = None


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
        cpus=APP_CPUS,
    ).start()


def new_user_type(cluster: Cluster) -> int:
    return insert_user_type(cluster.url)


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
    register: Request | None = None,
) -> dict[str, Any]:
    register = register or register_request(type_id, f"{app}-")

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
    pauses = [
        (generation, ms)
        for at, generation, ms in after["gc_pauses"]
        if before["time"] < at <= after["time"]
    ]
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
        "full_collections": sum(1 for generation, _ in pauses if generation == 2),
        "longest_gc_pause_ms": max((ms for _, ms in pauses), default=0.0),
    }


# ------------------------------------------ 1b. seed flow against hand-written

# The README's example (/register) and the same flow hand-written with early
# commits (/raw/register), in one server on one pool, alternating round by round.
SEED_STACKS = {"generated": "/register", "hand-written": "/raw/register"}


# The generated app freezes its startup objects out of the garbage collector
# (main.freeze_startup_objects); the same rounds without it show what it is for.
GC_VARIANTS = {"gc.freeze": {}, "no freeze": {"bench_no_gc_freeze": 1}}


def seed_flow_vs_handwritten(
    cluster: Cluster, project: Path, logs: Path, args: argparse.Namespace
) -> dict[str, Any]:
    type_id = new_user_type(cluster)
    variants: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with stub_server(args.latency) as stub_url:
        settings = {
            "db_pool_size": args.pool_size,
            "db_max_overflow": 0,
            "stub_url": stub_url,
        }
        for variant, extra in GC_VARIANTS.items():
            rounds: dict[str, list[dict[str, Any]]] = {s: [] for s in SEED_STACKS}
            server = serve("generated", cluster, project, logs, **settings, **extra)
            try:
                for round_ in range(args.seed_rounds):
                    order = list(SEED_STACKS)
                    if round_ % 2:
                        order.reverse()
                    for stack in order:
                        tag = f"{stack}-{variant}-{round_}-".replace(" ", "")
                        register = register_request(type_id, tag, SEED_STACKS[stack])
                        row = seed_flow_run(
                            "generated", server, cluster, type_id, args.clients,
                            args.seed_round_seconds, args.latency, register=register,
                        )  # fmt: skip
                        rounds[stack].append(row)
            finally:
                server.stop()
            variants[variant] = rounds
        transactions = {
            stack: transactions_per_request(
                cluster, project, logs, settings, type_id, stack
            )
            for stack in SEED_STACKS
        }
    return {
        "rounds": variants["gc.freeze"],
        "rounds_no_gc_freeze": variants["no freeze"],
        "transactions": transactions,
    }


def transactions_per_request(
    cluster: Cluster,
    project: Path,
    logs: Path,
    settings: dict[str, Any],
    type_id: int,
    stack: str,
    requests: int = 200,
) -> dict[str, float]:
    """Commits and rollbacks per request, from pg_stat_database.

    A server of its own, stopped before the second reading: a backend reports its
    counts when it exits, so none are left pending. Read from another database
    (template1), so the reading is not counted.
    """
    monitor = cluster.url.rsplit("/", 1)[0] + "/template1"
    query = (
        "SELECT xact_commit, xact_rollback FROM pg_stat_database "
        "WHERE datname = 'postgres'"
    )
    register = register_request(type_id, f"tx-{stack}-", SEED_STACKS[stack])
    server = serve("generated", cluster, project, logs, **settings)
    try:
        asyncio.run(run_load(server.url, register, clients=1, total=1))
        (before,) = sql(monitor, query)
        result = asyncio.run(
            run_load(
                server.url,
                lambda c, n: register(c, n + 1),
                clients=10,
                total=requests,
                timeout=60,
            )
        )
        assert len(result.ok()) == requests, result.statuses()
    finally:
        server.stop()
    time.sleep(1.0)  # the exiting backends' reports
    (after,) = sql(monitor, query)
    return {
        "commits": (after[0] - before[0]) / requests,
        "rollbacks": (after[1] - before[1]) / requests,
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
                "rounds": [
                    {
                        "throughput_rps": n / w,
                        "cpu_ms_per_request": c / n * 1000,
                        # Near 1.0: the app's core is the bottleneck, not the load.
                        "app_cpu_busy": c / w,
                    }
                    for n, w, c in runs
                ],
            }
        )
    return rows


def function_calls(
    cluster: Cluster, project: Path, _logs: Path, args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    """Function calls per request, counted by cProfile in a process of its own."""
    env = {
        **os.environ,
        "DATABASE_URL": cluster.url,
        "DB_APPLICATION_NAME": "bench-calls",
        "PYTHONPATH": os.pathsep.join([str(project / "src"), str(ROOT)]),
    }
    command = [sys.executable, str(ROOT / "benchmarks" / "calls.py")]
    command += ["--requests", str(args.call_requests)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"benchmarks/calls.py failed:\n{out.stderr}")
    result: dict[str, dict[str, float]] = json.loads(out.stdout.splitlines()[-1])
    return result


# --------------------------------------------------------------- 5. restarts

# What replaces pool_pre_ping in the generated engine (a checkout refuses a
# connection asyncpg has seen the server close), against pre-ping and neither.
RESTART_VARIANTS = {
    "closed check (generated)": {},
    "pool_pre_ping": {"bench_pool_pre_ping": 1, "bench_no_closed_check": 1},
    "neither": {"bench_no_closed_check": 1},
}


def restarts(
    cluster: Cluster, project: Path, logs: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Per variant: a restart of an idle app, a restart under load, and the cost."""
    rows = []
    for variant, extra in RESTART_VARIANTS.items():
        for run_ in range(args.restart_runs):
            server = serve(
                "generated", cluster, project, logs,
                db_pool_timeout_s=2, db_connect_timeout_s=2, **extra,
            )  # fmt: skip
            try:
                type_id = new_user_type(cluster)
                tag = f"restart-{run_}-{time.monotonic_ns()}-"
                rows.append(
                    {
                        "variant": variant,
                        "run": run_,
                        **restart_idle(server, cluster, type_id, tag),
                        **restart_under_load(server, cluster, type_id, tag),
                        **read_cost(server, type_id),
                    }
                )
            finally:
                server.stop()
    return rows


def restart_idle(
    server: AppServer, cluster: Cluster, type_id: int, tag: str
) -> dict[str, Any]:
    """A warm pool, a restart while idle, then 200 requests from 20 clients."""
    warm = mixed_request(type_id, f"{tag}warm-")
    asyncio.run(run_load(server.url, warm, clients=10, total=100))
    cluster.stop("fast")
    cluster.start()
    after = mixed_request(type_id, f"{tag}idle-")
    result = asyncio.run(run_load(server.url, after, clients=20, total=200))
    statuses = result.statuses()
    return {"idle_restart_503": statuses.get(503, 0), "idle_restart_statuses": statuses}


def restart_under_load(
    server: AppServer, cluster: Cluster, type_id: int, tag: str, down_s: float = 2.0
) -> dict[str, Any]:
    """20 clients for 8 s; the server stops after 2 s and is back `down_s` later."""
    request = mixed_request(type_id, f"{tag}load-")
    run = load_through_restart(
        server.url, request, cluster,
        clients=20, duration=8.0, down_s=down_s, timeout=15,
    )  # fmt: skip
    result, back = run.result, run.back_at
    failed = [o for o in result.outcomes if o.status not in (200, 201)]
    late = [o for o in failed if o.started > back]
    return {
        "load_requests": len(result.outcomes),
        "load_503": sum(1 for o in failed if o.status == 503),
        "load_other_failures": sum(1 for o in failed if o.status != 503),
        "load_503_started_after_back": len(late),
        "recovered_after_back_s": max((o.started - back for o in late), default=0.0),
    }


def read_cost(server: AppServer, type_id: int) -> dict[str, Any]:
    """GET by id, 10 clients for 3 s: what each checkout costs."""
    before = server.stats()
    cpu = server.cpu_seconds()

    async def read(client: Connection, _n: int) -> Response:
        return await client.get(f"/user-types/{type_id}")

    result = asyncio.run(run_load(server.url, read, clients=10, duration=3.0))
    after = server.stats()
    ok = len(result.ok())
    return {
        "get_rps": ok / result.wall_s,
        "get_cpu_ms": (server.cpu_seconds() - cpu) / ok * 1000,
        "get_statements": (after["statements"] - before["statements"]) / ok,
    }


# ---------------------------------------------------- 2c. instructions per request


def instructions(
    cluster: Cluster, project: Path, logs: Path, args: argparse.Namespace
) -> dict[str, dict[str, list[float]]]:
    """Machine instructions per request in the server process, counted by callgrind.

    The same uvicorn server and load as the overhead section, run under valgrind:
    counters zeroed before and dumped after each phase of `--instruction-requests`
    requests (half as many of the seed flow, whose requests wait 1 s each on the
    stub), phases in one order, then in the reverse order.
    Unlike CPU time, the count does not move with what else the machine runs (it
    does not see cache misses or waiting, only the work).
    """
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("  skipped: valgrind is missing (apt-get install -y valgrind)")
        return {}
    with stub_server(args.latency) as stub_url:
        return _instructions(cluster, project, logs, args, stub_url)


def _instructions(
    cluster: Cluster,
    project: Path,
    logs: Path,
    args: argparse.Namespace,
    stub_url: str,
) -> dict[str, dict[str, list[float]]]:
    dumps = logs / "callgrind"
    dumps.mkdir(exist_ok=True)
    server = AppServer(
        target="tests.lifecycle.apps.generated:create_app",
        env={
            "DATABASE_URL": cluster.url,
            "DB_APPLICATION_NAME": "bench-instructions",
            "STUB_URL": stub_url,
            "PYTHONMALLOC": "malloc",  # valgrind follows the system allocator
        },
        log_path=logs / "instructions.log",
        pythonpath=[project / "src", ROOT],
        cpus=APP_CPUS,
        wrapper=(
            "valgrind",
            "--tool=callgrind",
            "--dump-instr=no",
            f"--callgrind-out-file={dumps}/callgrind.out",
        ),
    ).start(timeout=600)
    count = args.instruction_requests
    tag = time.monotonic_ns()
    try:
        type_id = new_user_type(cluster)
        user_id = server_create_user(server, type_id)

        def create(path: str, offset: int) -> Request:
            async def call(client: Connection, n: int) -> Response:
                body = user_body(type_id, f"i{tag}-{path.count('raw')}-{offset}-{n}")
                return await client.post(path, json=body)

            return call

        def get(path: str) -> Request:
            async def call(client: Connection, _n: int) -> Response:
                return await client.get(path)

            return call

        phases: dict[tuple[str, str], Callable[[int], Request]] = {
            ("get", "generated"): lambda _o: get(f"/users/{user_id}"),
            ("get", "hand-written"): lambda _o: get(f"/raw/users/{user_id}"),
            ("create", "generated"): lambda o: create("/users", o),
            ("create", "hand-written"): lambda o: create("/raw/users", o),
            ("seed flow", "generated"): lambda o: register_request(
                type_id, f"i{tag}-g{o}-", SEED_STACKS["generated"]
            ),
            ("seed flow", "hand-written"): lambda o: register_request(
                type_id, f"i{tag}-h{o}-", SEED_STACKS["hand-written"]
            ),
        }
        counts = {"get": count, "create": count, "seed flow": max(count // 2, 1)}

        def run(request: Request, total: int) -> None:
            result = asyncio.run(
                run_load(
                    server.url, request, clients=args.overhead_clients, total=total,
                    timeout=600,
                )
            )  # fmt: skip
            assert len(result.ok()) == total, result.statuses()

        for phase in phases.values():  # warm-up
            run(phase(-1), 50)
        result: dict[str, dict[str, list[float]]] = {}
        for pass_ in range(2):
            order = list(phases) if pass_ == 0 else list(phases)[::-1]
            for operation, stack in order:
                callgrind(server, "--zero")
                run(phases[(operation, stack)](pass_), counts[operation])
                total = callgrind(server, "--dump")
                result.setdefault(operation, {}).setdefault(stack, [])
                result[operation][stack].append(total / counts[operation])
    finally:
        server.stop(timeout=120)
    return result


def callgrind(server: AppServer, action: str) -> int:
    """Zero the server's counters, or dump them and return the instructions since."""
    dumps = {path: path.stat().st_mtime for path in _dumps(server)}
    subprocess.run(
        ["callgrind_control", action, str(server.pid)], check=True, capture_output=True
    )
    if action != "--dump":
        return 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = [p for p in _dumps(server) if dumps.get(p) != p.stat().st_mtime]
        for path in new:
            match = re.search(
                r"^(?:summary|totals): (\d+)", path.read_text(), re.MULTILINE
            )
            if match:
                return int(match.group(1))
        time.sleep(0.1)
    raise RuntimeError("callgrind wrote no dump")


def _dumps(server: AppServer) -> list[Path]:
    return list((server.log_path.parent / "callgrind").glob("callgrind.out*"))


async def list_users(client: Connection, _n: int, *, limit: int) -> Response:
    return await client.get(f"/users?limit={limit}")


def user_body(type_id: int, tag: str) -> dict[str, Any]:
    return {"email": f"{tag}@example.com", "first_name": "O", "type_id": type_id}


def server_create_user(server: AppServer, type_id: int) -> int:
    async def create(client: Connection, _n: int) -> Response:
        tag = f"target-{time.monotonic_ns()}"  # a section of its own each time
        return await client.post("/users", json=user_body(type_id, tag))

    result = asyncio.run(
        run_load(server.url, create, clients=1, total=1, keep_body=True)
    )
    (outcome,) = result.outcomes
    assert outcome.status == 201, outcome
    return int(outcome.body["id"])


# ------------------------------------------------------------ 3. queries/request


def queries_per_request(
    cluster: Cluster, project: Path, logs: Path, _args: argparse.Namespace
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


# ------------------------------------------------------- 4. deep pages, 1M rows


def deep_pages(
    cluster: Cluster, project: Path, logs: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """A list page at the start and deep into a table of `args.deep_rows` users:
    OFFSET against keyset (`after`), with and without the total count."""
    type_id = new_user_type(cluster)
    sql(cluster.url, "TRUNCATE users CASCADE")
    sql(
        cluster.url,
        "INSERT INTO users (email, first_name, is_active, type_id, version) "
        "SELECT 'deep' || g || '@example.com', 'D', true, $1, 1 "
        "FROM generate_series(1, $2::int) g",
        type_id,
        args.deep_rows,
    )
    sql(cluster.url, "VACUUM ANALYZE users")
    (first_id,) = sql(cluster.url, "SELECT min(id) FROM users")[0]
    deep = args.deep_rows - 100  # rows before the deep page
    variants = {
        "offset 0, with total": "offset=0",
        f"offset {deep:,}, with total": f"offset={deep}",
        "offset 0, total=false": "offset=0&total=false",
        f"offset {deep:,}, total=false": f"offset={deep}&total=false",
        "keyset first page, total=false": "total=false",
        f"keyset after {deep:,} rows, total=false": (
            f"after={first_id + deep - 1}&total=false"
        ),
    }
    server = serve("generated", cluster, project, logs)
    rows = []
    try:
        for label, query in variants.items():
            url = f"/users?limit=50&{query}"

            async def page(client: Connection, _n: int, url: str = url) -> Response:
                return await client.get(url)

            asyncio.run(run_load(server.url, page, clients=1, total=3))  # warm
            result = asyncio.run(
                run_load(server.url, page, clients=1, total=args.deep_requests)
            )
            assert len(result.ok()) == args.deep_requests, result.statuses()
            rows.append(
                {
                    "variant": label,
                    "query": query,
                    "p50_ms": result.latency_quantile(0.5) * 1000,
                    "p90_ms": result.latency_quantile(0.9) * 1000,
                }
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


def pin(report: dict[str, Any], *, enabled: bool) -> None:
    """Give the app servers the first CPU and everything else the others.

    Started from here after this call, PostgreSQL, the stub and the load generator
    inherit the rest; the app's CPU time then measures the app, not its neighbours.
    """
    global APP_CPUS
    cpus = sorted(os.sched_getaffinity(0))
    if not enabled or len(cpus) < 2:
        report["pinning"] = "none: every process on every CPU"
        return
    APP_CPUS = frozenset(cpus[:1])
    os.sched_setaffinity(0, set(cpus[1:]))
    report["pinning"] = f"app servers on CPU {cpus[0]}, the rest on CPUs {cpus[1:]}"


def sql_version() -> str:
    return _VERSION[0] if _VERSION else "?"


def median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def spread(runs: list[dict[str, Any]], key: str, digits: int, scale: float = 1) -> str:
    values = [run[key] * scale for run in runs]
    return (
        f"{statistics.median(values):.{digits}f} "
        f"[{min(values):.{digits}f}-{max(values):.{digits}f}]"
    )


def print_tables(report: dict[str, Any]) -> None:
    args = report["settings"]
    if "seed_flow" in report:
        print_seed_flow(report, args)
    if "seed_vs_handwritten" in report:
        print_seed_vs_handwritten(report, args)
    if "overhead" in report:
        print_overhead(report, args)
    if "function_calls" in report:
        print_calls(report, args)
    if report.get("instructions"):
        print_instructions(report, args)
    if "restarts" in report:
        print_restarts(report)
    if "queries_per_request" in report:
        print_queries(report)
    if "deep_pages" in report:
        print(f"\nA page of 50 users in a table of {args['deep_rows']:,} rows, "
              f"{args['deep_requests']} sequential requests each\n")  # fmt: skip
        print("| page | p50 ms | p90 ms |")
        print("|---|---:|---:|")
        for row in report["deep_pages"]:
            print(f"| {row['variant']} | {row['p50_ms']:.1f} | {row['p90_ms']:.1f} |")


def print_seed_flow(report: dict[str, Any], args: dict[str, Any]) -> None:
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


def paired(
    runs: list[dict[str, Any]], base: list[dict[str, Any]], key: str
) -> dict[str, float]:
    """The ratios of rounds run side by side (round r against round r of `base`).

    Adjacent rounds share the machine's state at the time, so their ratio is steadier
    than a ratio of two medians: the median ratio and its interquartile range.
    """
    ratios = [run[key] / other[key] for run, other in zip(runs, base, strict=True)]
    q1, q2, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return {"median": q2, "q1": q1, "q3": q3, "min": min(ratios), "max": max(ratios)}


def show_ratio(ratio: dict[str, float]) -> str:
    return (
        f"{ratio['median']:.0%} (IQR {ratio['q1']:.0%}-{ratio['q3']:.0%}, "
        f"range {ratio['min']:.0%}-{ratio['max']:.0%})"
    )


def print_seed_vs_handwritten(report: dict[str, Any], args: dict[str, Any]) -> None:
    seed = report["seed_vs_handwritten"]
    print(
        f"\nSeed flow against hand-written early commits: same server and pool, "
        f"{args['seed_rounds']} alternating rounds of {args['seed_round_seconds']} s "
        "each; median [min-max] of the rounds\n"
    )
    print(
        "| app startup | stack | req/s | CPU ms/req | longest idle in tx ms "
        "| longest GC pause ms | full GCs | commits/req | rollbacks/req |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for variant, key in (("gc.freeze", "rounds"), ("no freeze", "rounds_no_gc_freeze")):
        for stack, runs in seed[key].items():
            tx = seed["transactions"][stack] if key == "rounds" else None
            commits = f"{tx['commits']:.2f} | {tx['rollbacks']:.2f}" if tx else "|"
            print(
                f"| {variant} | {stack} | {spread(runs, 'throughput_rps', 1)} "
                f"| {spread(runs, 'cpu_ms_per_request', 1)} "
                f"| {spread(runs, 'longest_idle_in_transaction_s', 0, 1000)} "
                f"| {spread(runs, 'longest_gc_pause_ms', 0)} "
                f"| {spread(runs, 'full_collections', 0)} | {commits} |"
            )
    generated, handwritten = (seed["rounds"][s] for s in SEED_STACKS)
    print("\ngenerated / hand-written, round by round (gc.freeze):")
    for key, name in (("throughput_rps", "req/s"), ("cpu_ms_per_request", "CPU")):
        print(f"  {name}: {show_ratio(paired(generated, handwritten, key))}")


def print_overhead(report: dict[str, Any], args: dict[str, Any]) -> None:
    print(
        f"\nOverhead of the layers: {args['overhead_clients']} clients, "
        f"{args['rounds']} alternating rounds of {args['round_seconds']} s each; "
        "median [min-max] of the rounds; generated / hand-written round by round\n"
    )
    print(
        "| operation | stack | req/s | CPU ms/req | app CPU busy "
        "| vs hand-written req/s | CPU |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    by_key = {(r["operation"], r["stack"]): r for r in report["overhead"]}
    for (operation, stack), row in by_key.items():
        base = by_key[(operation, "hand-written")]["rounds"]
        runs = row["rounds"]
        ratios = "| |"
        if stack != "hand-written":
            ratios = (
                f"| {show_ratio(paired(runs, base, 'throughput_rps'))} "
                f"| {show_ratio(paired(runs, base, 'cpu_ms_per_request'))} |"
            )
        print(
            f"| {operation} | {stack} | {spread(runs, 'throughput_rps', 0)} "
            f"| {spread(runs, 'cpu_ms_per_request', 2)} "
            f"| {spread(runs, 'app_cpu_busy', 2)} {ratios}"
        )


def print_calls(report: dict[str, Any], args: dict[str, Any]) -> None:
    print(
        f"\nFunction calls per request (cProfile, {args['call_requests']} requests "
        "each, in process through httpx's ASGI transport)\n"
    )
    print("| operation | generated | hand-written | generated / hand-written |")
    print("|---|---:|---:|---:|")
    for operation, stacks in report["function_calls"].items():
        generated, handwritten = stacks["generated"], stacks["hand-written"]
        print(
            f"| {operation} | {generated:.0f} | {handwritten:.0f} "
            f"| {generated / handwritten:.1%} |"
        )


def print_instructions(report: dict[str, Any], args: dict[str, Any]) -> None:
    print(
        "\nInstructions per request in the server process (callgrind; "
        f"{args['instruction_requests']} requests a phase from "
        f"{args['overhead_clients']} clients, two passes)\n"
    )
    print("| operation | generated | hand-written | generated / hand-written |")
    print("|---|---:|---:|---:|")
    for operation, stacks in report["instructions"].items():
        generated = statistics.mean(stacks["generated"])
        handwritten = statistics.mean(stacks["hand-written"])
        print(
            f"| {operation} | {generated / 1e6:.3f} M | {handwritten / 1e6:.3f} M "
            f"| {generated / handwritten:.1%} |"
        )


def print_restarts(report: dict[str, Any]) -> None:
    print(
        "\nPostgreSQL restarted (stop -m fast, start): while the app is idle with a "
        "warm pool, then 200 requests from 20 clients; and under load (20 clients, "
        "8 s, down 2 s). Statements counted by the app (a ping is not one).\n"
    )
    print(
        "| variant | run | 503 after idle restart | 503 under load "
        "| of them after the server was back | other failures "
        "| GET req/s | GET CPU ms/req |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in report["restarts"]:
        print(
            f"| {row['variant']} | {row['run']} | {row['idle_restart_503']} "
            f"| {row['load_503']} of {row['load_requests']} "
            f"| {row['load_503_started_after_back']} | {row['load_other_failures']} "
            f"| {row['get_rps']:.0f} | {row['get_cpu_ms']:.2f} |"
        )


def print_queries(report: dict[str, Any]) -> None:
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
    parser.add_argument("--seed-rounds", type=int, default=8)
    parser.add_argument("--seed-round-seconds", type=float, default=10.0)
    parser.add_argument("--overhead-clients", type=int, default=10)
    parser.add_argument("--call-requests", type=int, default=1000)
    parser.add_argument("--restart-runs", type=int, default=2)
    parser.add_argument("--instruction-requests", type=int, default=200)
    parser.add_argument("--deep-rows", type=int, default=1_000_000)
    parser.add_argument("--deep-requests", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--round-seconds", type=float, default=5.0)
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results.json"
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the app servers share every CPU with the load generator",
    )
    parser.add_argument(
        "--only",
        choices=[
            "seed-flow",
            "seed-vs-handwritten",
            "overhead",
            "calls",
            "instructions",
            "restart",
            "queries",
            "deep",
        ],
        help="run one section",
    )
    args = parser.parse_args()
    try:
        import advanced_alchemy  # noqa: F401
    except ImportError:
        sys.exit("advanced-alchemy is missing: pip install -e '.[dev,bench]'")

    report: dict[str, Any] = {"settings": vars(args) | {"output": str(args.output)}}
    pin(report, enabled=not args.no_pin)
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
        print(f"pinning: {report['pinning']}", flush=True)
        sections = {
            "seed-flow": ("seed_flow", seed_flow),
            "seed-vs-handwritten": ("seed_vs_handwritten", seed_flow_vs_handwritten),
            "overhead": ("overhead", overhead),
            "calls": ("function_calls", function_calls),
            "instructions": ("instructions", instructions),
            "restart": ("restarts", restarts),
            "queries": ("queries_per_request", queries_per_request),
            # Last: it replaces the users with a million rows.
            "deep": ("deep_pages", deep_pages),
        }
        for name, (key, run) in sections.items():
            if args.only in (None, name):
                print(f"{name} ...", flush=True)
                report[key] = run(cluster, project, logs, args)
                # Written after every section: a failure later keeps what ran.
                args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print_tables(report)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwritten: {args.output}")


if __name__ == "__main__":
    main()
