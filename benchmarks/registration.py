"""The second seed's load: registration through a slow identity provider, two ways.

    python benchmarks/registration.py            # about 2 minutes

Starts a throwaway PostgreSQL (tests/postgres.py), renders examples/registration.yml,
runs the project's own stub OpenID provider with its token endpoint and admin API
answering after --latency seconds, and serves each app with uvicorn on 127.0.0.1
(tests/lifecycle/registration.py), pool --pool-size with no overflow:

- the generated `POST /registrations`: read, provider call, write;
- the same flow written the seed's way: one session per request, the provider
  called inside its transaction.

--clients clients register users for --duration seconds each. Prints a table and
writes benchmarks/registration.json: throughput (and its share of clients ÷
latency, the most a client-bound load can reach), p50 and p99, the longest
idle-in-transaction stretch seen in pg_stat_activity (sampled every 20 ms), the
server connections, and the provider calls made while the request held a connection
or a transaction (recorded by the apps as each call starts).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.lifecycle import registration
from tests.postgres import throwaway_cluster

OUT = Path(__file__).with_name("registration.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--pool-size", type=int, default=5)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--no-pin", action="store_true", help="run the apps on any CPU, not the first"
    )
    args = parser.parse_args()
    # As benchmarks/run.py: the app servers get the first CPU, everything started
    # from here (PostgreSQL, the provider, the load) the others.
    cpus = sorted(os.sched_getaffinity(0))
    app_cpus = None
    if not args.no_pin and len(cpus) > 1:
        app_cpus = frozenset(cpus[:1])
        os.sched_setaffinity(0, set(cpus[1:]))

    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="uowgen-registration-") as tmp,
        throwaway_cluster() as cluster,
    ):
        logs = Path(tmp)
        project = registration.render_registry(logs / "registry", cluster)
        with registration.provider(project, args.latency) as running:
            issuer = running.issuer
            for app in registration.APPS:
                server = registration.serve(
                    app,
                    cluster,
                    project,
                    logs,
                    issuer,
                    pool_size=args.pool_size,
                    cpus=app_cpus,
                )
                try:
                    type_id = registration.new_user_type(cluster)
                    # One registration first: the service token is fetched and
                    # the pool warmed the same way for both.
                    registration.load(
                        app,
                        server,
                        cluster,
                        type_id,
                        clients=1,
                        latency=args.latency,
                        total=1,
                    )
                    rows.append(
                        registration.load(
                            app,
                            server,
                            cluster,
                            type_id,
                            clients=args.clients,
                            latency=args.latency,
                            duration=args.duration,
                        )
                    )
                finally:
                    server.stop()
    bound = args.clients / args.latency
    for row in rows:
        row["share_of_bound"] = row["throughput_rps"] / bound
    print_table(rows, args, bound)
    args.out.write_text(
        json.dumps(
            {
                "machine": {
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                },
                "settings": {
                    "clients": args.clients,
                    "latency_s": args.latency,
                    "pool_size": args.pool_size,
                    "duration_s": args.duration,
                    "app_cpus": sorted(app_cpus) if app_cpus else "any",
                },
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {args.out}")


def print_table(
    rows: list[dict[str, Any]], args: argparse.Namespace, bound: float
) -> None:
    print(
        f"\nregistration: {args.clients} clients, provider answering after "
        f"{args.latency:g} s, pool {args.pool_size} (no overflow), "
        f"{args.duration:g} s each; clients ÷ latency = {bound:.1f} req/s\n"
    )
    header = (
        "| app | req/s | of clients ÷ latency | p50 | p99 | errors | longest idle in "
        "transaction | server connections | provider calls holding a connection |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for row in rows:
        print(
            f"| {row['label']} | {row['throughput_rps']:.1f} | "
            f"{row['share_of_bound']:.0%} | {row['p50_s']:.2f} s | "
            f"{row['p99_s']:.2f} s | {row['errors']} | "
            f"{row['longest_idle_in_transaction_s'] * 1000:.0f} ms | "
            f"{row['server_connections']} | "
            f"{row['provider_calls_holding_a_connection']} of {row['provider_calls']} |"
        )


if __name__ == "__main__":
    main()
