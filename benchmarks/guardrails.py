"""What the guardrails cost: the tests' tripwire and the run-time connection watch.

1. Tripwire: the generated fastbot project's own test suite (SQLite; all of it but
   the tripwire's own tests, which expect it armed), with the tripwire on (as
   generated) and with its fixture made a no-op, alternating.
2. Watchdog: the generated app on a throwaway PostgreSQL under load (GET by id, 10
   clients), served with DB_SLOW_TRANSACTION_MS=1000 (on, as shipped) and 0 (off),
   alternating rounds; throughput and app CPU per request.

Run: .venv/bin/python benchmarks/guardrails.py [--rounds N]
Prints a table and writes benchmarks/guardrails.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.lifecycle.harness import (
    AppServer,
    Connection,
    Response,
    migrate,
    render_project,
    run_load,
    sql,
)
from tests.postgres import throwaway_cluster

# The baseline: the fixture kept, the tripwire neither armed nor disarmed.
NO_TRIPWIRE = {
    "    wire = install(monkeypatch)\n": "    wire = Tripwire()  # baseline: off\n",
    "    disarm(wire)\n": "",
}


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def tripwire_cost(project: Path, rounds: int) -> dict[str, Any]:
    off = project.parent / "tripwire-off"
    shutil.copytree(project, off)
    conftest = off / "tests" / "conftest.py"
    text = conftest.read_text()
    for armed, unarmed in NO_TRIPWIRE.items():
        assert armed in text
        text = text.replace(armed, unarmed)
    conftest.write_text(text)
    times: dict[str, list[float]] = {"on": [], "off": []}
    for index in range(rounds):
        order = ["on", "off"] if index % 2 == 0 else ["off", "on"]
        for variant in order:
            where = project if variant == "on" else off
            started = time.perf_counter()
            done = subprocess.run(
                [
                    *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
                    # The tests of the tripwire itself expect it armed.
                    "--ignore=tests/integration/test_guardrails.py",
                ],
                cwd=where,
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )
            elapsed = time.perf_counter() - started
            assert done.returncode == 0, done.stdout[-2000:]
            times[variant].append(elapsed)
    on, off_ = spread(times["on"]), spread(times["off"])
    return {
        "rounds": rounds,
        "suite_seconds_on": on,
        "suite_seconds_off": off_,
        "overhead_percent": 100 * (on["median"] / off_["median"] - 1),
    }


def watchdog_cost(project: Path, rounds: int, seconds: float) -> dict[str, Any]:
    with throwaway_cluster() as cluster:
        migrate(project, cluster.url)
        rows = sql(
            cluster.url,
            "INSERT INTO user_types (code, name, version) VALUES ('b', 'b', 1) "
            "RETURNING id",
        )
        path = f"/user-types/{int(rows[0][0])}"

        async def get(client: Connection, _n: int) -> Response:
            return await client.get(path)

        results: dict[str, dict[str, list[float]]] = {
            variant: {"rps": [], "cpu_ms": []} for variant in ("on", "off")
        }
        servers = {
            variant: AppServer(
                # The generated app as the lifecycle tests serve it (it adds the
                # /_stats route the harness waits for), the same for both.
                target="tests.lifecycle.apps.generated:create_app",
                env={
                    "DATABASE_URL": cluster.url,
                    "DB_SLOW_TRANSACTION_MS": "1000" if variant == "on" else "0",
                    "DB_POOL_SIZE": "10",
                },
                log_path=project.parent / f"watch-{variant}.log",
                pythonpath=[project / "src", ROOT],
            ).start()
            for variant in ("on", "off")
        }
        try:
            for index in range(rounds):
                order = ["on", "off"] if index % 2 == 0 else ["off", "on"]
                for variant in order:
                    server = servers[variant]
                    cpu = server.cpu_seconds()
                    result = asyncio.run(
                        run_load(server.url, get, clients=10, duration=seconds)
                    )
                    used = server.cpu_seconds() - cpu
                    ok = len(result.ok())
                    assert ok and ok == len(result.outcomes)
                    results[variant]["rps"].append(ok / seconds)
                    results[variant]["cpu_ms"].append(1000 * used / ok)
        finally:
            for server in servers.values():
                server.stop()
    on, off = results["on"], results["off"]
    return {
        "rounds": rounds,
        "round_seconds": seconds,
        "rps_on": spread(on["rps"]),
        "rps_off": spread(off["rps"]),
        "cpu_ms_on": spread(on["cpu_ms"]),
        "cpu_ms_off": spread(off["cpu_ms"]),
        "throughput_percent": 100
        * statistics.median(on["rps"])
        / statistics.median(off["rps"]),
        "cpu_percent": 100
        * statistics.median(on["cpu_ms"])
        / statistics.median(off["cpu_ms"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="uowgen-guardrails-") as scratch:
        project = render_project(Path(scratch) / "fastbot")
        tripwire = tripwire_cost(project, args.rounds)
        watchdog = watchdog_cost(project, args.rounds, args.seconds)
    print(
        f"Tripwire, fastbot's test suite ({tripwire['rounds']} alternating runs each)"
    )
    print("| tripwire | median s | min s | max s |")
    print("|---|---:|---:|---:|")
    for variant in ("on", "off"):
        figures = tripwire[f"suite_seconds_{variant}"]
        print(
            f"| {variant} | {figures['median']:.2f} | {figures['min']:.2f} "
            f"| {figures['max']:.2f} |"
        )
    print(f"overhead: {tripwire['overhead_percent']:+.1f}% (target < 5%)\n")
    print(
        f"Watchdog, GET /user-types/{{id}} on PostgreSQL, 10 clients, "
        f"{watchdog['rounds']} alternating rounds of {watchdog['round_seconds']:.0f} s"
    )
    print("| watch | req/s median (min-max) | CPU ms/req median (min-max) |")
    print("|---|---:|---:|")
    for variant in ("on", "off"):
        rps, cpu = watchdog[f"rps_{variant}"], watchdog[f"cpu_ms_{variant}"]
        print(
            f"| {variant} | {rps['median']:.0f} ({rps['min']:.0f}-{rps['max']:.0f}) "
            f"| {cpu['median']:.2f} ({cpu['min']:.2f}-{cpu['max']:.2f}) |"
        )
    print(
        f"on vs off: throughput {watchdog['throughput_percent']:.1f}%, "
        f"CPU per request {watchdog['cpu_percent']:.1f}% (target: within 3%)"
    )
    out = ROOT / "benchmarks" / "guardrails.json"
    out.write_text(
        json.dumps({"tripwire": tripwire, "watchdog": watchdog}, indent=2) + "\n"
    )
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
