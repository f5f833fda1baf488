"""A throwaway PgBouncer in transaction mode on 127.0.0.1, in front of a cluster.

Debian's `pgbouncer` (installed by `scripts/_setup.sh`) with a config of its own in a
temporary folder: every database of the cluster (`* = host=... port=...`), trust
authentication for `postgres`, `pool_mode = transaction`, and no
`ignore_startup_parameters`, exactly as PgBouncer ships. PgBouncer refuses to run as
root, so as root it runs as the cluster's unprivileged user.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.postgres import Cluster


class PgBouncerUnavailable(RuntimeError):
    """No pgbouncer binary on this machine."""


@dataclass(frozen=True)
class PgBouncer:
    """A running PgBouncer: `url(driver)` is the cluster's `postgres` database via it."""

    port: int
    pool_size: int
    cluster: Cluster

    def url(self, driver: str = "asyncpg", database: str = "postgres") -> str:
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/{database}"


def find_pgbouncer() -> str:
    for candidate in (shutil.which("pgbouncer"), "/usr/sbin/pgbouncer"):
        if candidate and Path(candidate).exists():
            return candidate
    raise PgBouncerUnavailable(
        "pgbouncer not found; install it with: apt-get install -y pgbouncer"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def pgbouncer(
    cluster: Cluster, *, pool_size: int = 20, **settings: str
) -> Iterator[PgBouncer]:
    """Start PgBouncer in transaction mode in front of `cluster`; stop it on exit.

    `pool_size` is PgBouncer's `default_pool_size`: at most that many server
    connections per database and user, however many clients connect.
    """
    binary = find_pgbouncer()
    root = Path(tempfile.mkdtemp(prefix="uowgen-pgbouncer-"))
    port = _free_port()
    (root / "userlist.txt").write_text('"postgres" ""\n')
    conf = {
        "listen_addr": "127.0.0.1",
        "listen_port": str(port),
        "unix_socket_dir": "",
        "auth_type": "trust",
        "auth_file": str(root / "userlist.txt"),
        "admin_users": "postgres",
        "pool_mode": "transaction",
        "default_pool_size": str(pool_size),
        "max_client_conn": "2000",
        "logfile": str(root / "pgbouncer.log"),
        "pidfile": str(root / "pgbouncer.pid"),
        **settings,
    }
    lines = [
        "[databases]",
        f"* = host=127.0.0.1 port={cluster.port}",
        "[pgbouncer]",
        *(f"{name} = {value}" for name, value in conf.items()),
    ]
    (root / "pgbouncer.ini").write_text("\n".join(lines) + "\n")
    command = [binary, "-q", str(root / "pgbouncer.ini")]
    if cluster.run_as is not None:
        shutil.chown(root, user=cluster.run_as)
        for path in root.iterdir():
            shutil.chown(path, user=cluster.run_as)
        command = ["runuser", "-u", cluster.run_as, "--", *command]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        while not _accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log = root / "pgbouncer.log"
                raise RuntimeError(
                    "pgbouncer did not start:\n"
                    + (log.read_text() if log.exists() else "")
                    + (process.stderr.read().decode() if process.stderr else "")
                )
            time.sleep(0.05)
        yield PgBouncer(port, pool_size, cluster)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(root, ignore_errors=True)
