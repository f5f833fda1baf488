"""Shared by the lifecycle tests and `benchmarks/run.py`: render, serve, load, watch.

- `render_project` renders an example spec and adds the README's worked example
  (`register_user`) to it as a module, exactly as the README shows it.
- `AppServer` runs one uvicorn process on 127.0.0.1, its output captured to a file.
- `StubServer` is the slow external service (a fixed latency per request).
- `ActivitySampler` samples `pg_stat_activity` every 20 ms from its own thread.
- `run_load` drives an app with N concurrent clients, bounded in count or time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Self

import asyncpg
import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
APPS = "tests.lifecycle.apps"
PYTHON = sys.executable


# --------------------------------------------------------------------------- render


def readme_example(readme: str) -> str:
    """The python block under "### Slow calls" in a generated README."""
    section = readme.split("### Slow calls", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "no python block under '### Slow calls'"
    return match.group(1)


def render_project(dst: Path, example: str = "fastbot") -> Path:
    """Render `examples/<example>.yml` into dst; add the README example as a module."""
    sys.path.insert(0, str(REPO_ROOT / "src"))
    from uowgen import generate, load_spec

    spec = load_spec(REPO_ROOT / "examples" / f"{example}.yml")
    generate(spec, dst)
    package = dst / "src" / example
    readme = (dst / "README.md").read_text()
    (package / "registration.py").write_text(readme_example(readme))
    return dst


def migrate(project: Path, database_url: str) -> None:
    """`alembic upgrade head` in the project, on database_url."""
    env = {**os.environ, "DATABASE_URL": database_url}
    env["PYTHONPATH"] = str(project / "src")
    subprocess.run(
        [PYTHON, "-m", "alembic", "upgrade", "head"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def asyncpg_dsn(url: str) -> str:
    """The plain libpq DSN of a SQLAlchemy `postgresql+asyncpg://` URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def sql(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """Run one statement on its own connection (outside the app) and fetch rows."""

    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(
            asyncpg_dsn(url), server_settings={"application_name": "lifecycle-check"}
        )
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(go())


def insert_user_type(url: str) -> int:
    """A user type of its own (outside the app), for a load's registrations."""
    rows = sql(
        url,
        "INSERT INTO user_types (code, name, version) VALUES ($1, 'bench', 1) "
        "RETURNING id",
        f"bench-{time.monotonic_ns()}",
    )
    return int(rows[0][0])


# --------------------------------------------------------------------------- servers


def _cpu_times(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick  # utime, stime


@dataclass
class AppServer:
    """One uvicorn process serving `target` (module:factory) on 127.0.0.1."""

    target: str
    env: dict[str, str]
    log_path: Path
    pythonpath: list[Path]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    # CPUs the server may run on (the benchmark gives it one of its own); None: any.
    cpus: frozenset[int] | None = None
    # A command the server runs under (valgrind for the benchmark's instruction
    # counts); the server's pid is then that command's.
    wrapper: tuple[str, ...] = ()
    # uvicorn worker processes (--workers); 1 serves from the one process.
    workers: int = 1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> AppServer:
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in self.pythonpath)
        command = [
            PYTHON, "-m", "uvicorn", "--factory", self.target,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--no-access-log", "--timeout-graceful-shutdown", "10",
        ]  # fmt: skip
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        command = [*self.wrapper, *command]
        log = self.log_path.open("ab")
        if self.cpus is not None:
            # Pinned from its first instruction, so every thread it starts inherits it.
            cpus = ",".join(str(cpu) for cpu in sorted(self.cpus))
            command = ["taskset", "--cpu-list", cpus, *command]
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/_stats", timeout=1).status_code == 200:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not start in {timeout} s:\n{self.log()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        return sum(_cpu_times(self.pid))

    def cpu_times(self) -> tuple[float, float]:
        """User and system CPU time the server process has used so far."""
        return _cpu_times(self.pid)

    def stats(self) -> dict[str, Any]:
        """The app's own counters (`/_stats`, see apps/instrument.py)."""
        result: dict[str, Any] = httpx.get(f"{self.url}/_stats", timeout=5).json()
        return result

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, wait for a clean exit (SIGKILL after timeout); the return code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


STUB_CODE = """
import asyncio, sys

LATENCY = float(sys.argv[2])
BODY = b'{"ok": true}'
HEAD = b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: %d\\r\\n\\r\\n"

async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            length = 0
            for line in head.split(b"\\r\\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(LATENCY)
            writer.write(HEAD % len(BODY) + BODY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""


@contextlib.contextmanager
def stub_server(latency: float) -> Iterator[str]:
    """The slow external service: answers any request after `latency` seconds."""
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-c", STUB_CODE, str(port), str(latency)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == b"ready"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


# --------------------------------------------------------------------------- sampler


@dataclass
class ActivitySummary:
    samples: int
    longest_idle_in_transaction_s: float
    samples_idle_in_transaction: int
    max_connections: int
    mean_active_or_in_transaction: float


class ActivitySampler:
    """Samples `pg_stat_activity` for one application_name every `interval` s.

    The longest idle-in-transaction stretch is the largest
    `clock_timestamp() - state_change` seen while a backend of the app was
    `idle in transaction` (a lower bound, within one interval, of the real one).
    """

    QUERY = """
        SELECT state, extract(epoch FROM clock_timestamp() - state_change)::float8
        FROM pg_stat_activity WHERE application_name = $1
    """

    def __init__(self, url: str, application_name: str, interval: float = 0.02):
        self.dsn = asyncpg_dsn(url)
        self.application_name = application_name
        self.interval = interval
        self.samples = 0
        self.longest = 0.0
        self.idle_samples = 0
        self.max_connections = 0
        self.busy_sum = 0
        self.samples_idle_in_transaction_max = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()
        self.error: Exception | None = None

    def __enter__(self) -> Self:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def summary(self) -> ActivitySummary:
        return ActivitySummary(
            samples=self.samples,
            longest_idle_in_transaction_s=self.longest,
            samples_idle_in_transaction=self.idle_samples,
            max_connections=self.max_connections,
            mean_active_or_in_transaction=self.busy_sum / max(self.samples, 1),
        )

    def _run(self) -> None:
        try:
            asyncio.run(self._sample())
        except Exception as exc:  # noqa: BLE001 (reported by the caller)
            self.error = exc
            self._ready.set()

    async def _sample(self) -> None:
        conn: asyncpg.Connection | None = None
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                if conn is None or conn.is_closed():
                    conn = await asyncpg.connect(
                        self.dsn,
                        timeout=1,
                        server_settings={"application_name": "lifecycle-sampler"},
                    )
                rows = await conn.fetch(self.QUERY, self.application_name)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn = None  # the server is down (scenario 5): try again
                rows = None
            self._ready.set()
            if rows is not None:
                self.samples += 1
                self.max_connections = max(self.max_connections, len(rows))
                idle = sum(1 for state, _ in rows if state == "idle in transaction")
                self.samples_idle_in_transaction_max = max(
                    self.samples_idle_in_transaction_max, idle
                )
                for state, age in rows:
                    if state == "idle in transaction":
                        self.idle_samples += 1
                        self.longest = max(self.longest, age or 0.0)
                    if state in ("active", "idle in transaction"):
                        self.busy_sum += 1
            next_at += self.interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if conn is not None:
            await conn.close()


# --------------------------------------------------------------------------- load


@dataclass
class Outcome:
    started: float
    elapsed: float
    status: int | None  # None: no HTTP answer (error holds why)
    error: str | None = None
    body: Any = None


@dataclass
class LoadResult:
    outcomes: list[Outcome]
    wall_s: float

    def statuses(self) -> dict[int | None, int]:
        counts: dict[int | None, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return counts

    def ok(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is not None and o.status < 300]

    def latency_quantile(self, q: float) -> float:
        values = sorted(o.elapsed for o in self.ok())
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))]


class HttpError(Exception):
    """No HTTP answer: refused, reset, closed or timed out."""


@dataclass
class Response:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class Connection:
    """A minimal HTTP/1.1 keep-alive client on one connection.

    httpx costs 3-14 ms of CPU per request under many concurrent clients, which on
    two cores competes with the app being measured; this costs a fraction of that.
    """

    def __init__(self, port: int, timeout: float) -> None:
        self.port = port
        self.timeout = timeout
        # Sent with every request of this connection (a logged-in client's cookie).
        self.headers: dict[str, str] = {}
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str) -> Response:
        return await self.request("GET", path)

    async def post(self, path: str, json: Any = None) -> Response:
        return await self.request("POST", path, json)

    async def patch(self, path: str, json: Any = None) -> Response:
        return await self.request("PATCH", path, json)

    async def request(self, method: str, path: str, body: Any = None) -> Response:
        try:
            return await asyncio.wait_for(
                self._request(method, path, body), self.timeout
            )
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            self.close()
            raise HttpError(repr(exc)) from exc

    async def _request(self, method: str, path: str, body: Any) -> Response:
        if self._streams is None:
            self._streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self._streams
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in self.headers.items())
        if body is not None:
            head += "content-type: application/json\r\n"
        head += f"content-length: {len(payload)}\r\n\r\n"
        writer.write(head.encode() + payload)
        lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        content = await reader.readexactly(length) if length else b""
        if close:
            self.close()
        return Response(status, content)

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].transport.abort()
            self._streams = None


Request = Callable[[Connection, int], Awaitable[Response]]


def mixed_request(type_id: int, prefix: str) -> Request:
    """Odd calls read the user type `type_id`; even ones create user `<prefix><n>`."""

    async def request(client: Connection, n: int) -> Response:
        if n % 2:
            return await client.get(f"/user-types/{type_id}")
        body = {
            "email": f"{prefix}{n}@example.com",
            "first_name": "R",
            "type_id": type_id,
        }
        return await client.post("/users", json=body)

    return request


def register_request(type_id: int, prefix: str, path: str = "/register") -> Request:
    """A load request for the seed flow: register user `<prefix><n>@example.com`."""

    async def register(client: Connection, n: int) -> Response:
        body = {
            "email": f"{prefix}{n}@example.com",
            "first_name": "R",
            "type_id": type_id,
        }
        return await client.post(path, json=body)

    return register


async def run_load(
    base_url: str,
    request: Request,
    *,
    clients: int,
    total: int | None = None,
    duration: float | None = None,
    timeout: float = 30.0,
    keep_body: bool = False,
    ramp: float = 0.0,
) -> LoadResult:
    """`clients` concurrent workers, each on its own keep-alive connection, call
    `request(connection, n)` until `total` calls have started or `duration` seconds
    have passed, whichever comes first. With `ramp`, the workers start evenly
    spread over that many seconds instead of all at once."""
    assert total is not None or duration is not None
    port = int(base_url.rsplit(":", 1)[1])
    counter = iter(range(total if total is not None else 10**9))
    start = time.monotonic()
    deadline = start + duration if duration is not None else float("inf")
    outcomes: list[Outcome] = []

    async def worker(index: int) -> None:
        await asyncio.sleep(ramp * index / clients)
        connection = Connection(port, timeout)
        try:
            for n in counter:
                if time.monotonic() >= deadline:
                    return
                began = time.monotonic()
                try:
                    response = await request(connection, n)
                except HttpError as exc:
                    outcomes.append(
                        Outcome(began, time.monotonic() - began, None, str(exc))
                    )
                    continue
                body = None
                if keep_body:
                    with contextlib.suppress(ValueError):
                        body = response.json()
                outcomes.append(
                    Outcome(began, time.monotonic() - began, response.status_code,
                            None, body)
                )  # fmt: skip
        finally:
            connection.close()

    await asyncio.gather(*(worker(index) for index in range(clients)))
    return LoadResult(outcomes, time.monotonic() - start)


class Restartable(Protocol):
    """A database server the caller may stop and start (tests.postgres.Cluster)."""

    def stop(self, mode: str = "fast") -> None: ...
    def start(self) -> None: ...


@dataclass
class LoadThroughRestart:
    result: LoadResult
    stopped_at: float  # time.monotonic() just before the server was stopped
    back_at: float  # time.monotonic() once it accepted connections again


def load_through_restart(
    base_url: str,
    request: Request,
    server: Restartable,
    *,
    clients: int,
    duration: float,
    down_s: float,
    timeout: float,
    keep_body: bool = False,
    stop_after_s: float = 2.0,
) -> LoadThroughRestart:
    """`run_load` in a thread while the database stops after `stop_after_s` s
    (`pg_ctl stop -m fast`) and starts again `down_s` s later."""
    results: list[LoadResult] = []
    load = threading.Thread(
        target=lambda: results.append(
            asyncio.run(
                run_load(
                    base_url,
                    request,
                    clients=clients,
                    duration=duration,
                    timeout=timeout,
                    keep_body=keep_body,
                )
            )
        )
    )
    load.start()
    time.sleep(stop_after_s)
    stopped_at = time.monotonic()
    server.stop("fast")
    time.sleep(down_s)
    server.start()
    back_at = time.monotonic()
    load.join(60)
    (result,) = results
    return LoadThroughRestart(result, stopped_at, back_at)


async def abandoned_request(
    port: int, method: str, path: str, body: dict[str, Any] | None, after: float
) -> None:
    """Send a request on a raw socket and close the connection `after` seconds later,
    before the answer: a client that goes away mid-request."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n"
    )
    writer.write(head.encode() + payload)
    await writer.drain()
    await asyncio.sleep(after)
    writer.transport.abort()  # RST, not a polite close
    del reader


def wait_until(
    predicate: Callable[[], bool], timeout: float, interval: float = 0.05
) -> float:
    """Poll until predicate() is true; the seconds it took (AssertionError on timeout)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - start
