"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests and benchmarks.

`initdb` into a temporary folder, `pg_ctl start` on a free port, and stop + delete on
exit. PostgreSQL refuses to run as root, so as root the cluster runs as an
unprivileged user (created if missing). Run `python tests/postgres.py` to start one
by hand; it prints the URL and serves until interrupted.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_USER = "uowgen-pg"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


@dataclass(frozen=True)
class Cluster:
    """A running throwaway cluster."""

    port: int
    data_dir: Path
    bin_dir: Path
    run_as: str | None

    @property
    def url(self) -> str:
        """SQLAlchemy URL (asyncpg driver) of the `postgres` database."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(
        self, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run pg_ctl on this cluster (as the cluster's user)."""
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]
        return _run(command, self.run_as, check=check)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (it can be started again with `start`)."""
        self.pg_ctl("stop", "-m", mode, "-w")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        log = self.data_dir.parent / "server.log"
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data_dir.parent}"
        self.pg_ctl("start", "-w", "-t", "60", "-l", str(log), "-o", options)


def find_bin_dir() -> Path:
    """The folder holding initdb/pg_ctl: PATH first, then Debian's layout."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").exists():
            return candidate
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; "
        "install them with: apt-get install -y postgresql"
    )


def _run(
    command: list[str], user: str | None, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if user is not None:
        command = ["runuser", "-u", user, "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return result


def _ensure_user() -> str:
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", PG_USER],
            check=True,
            capture_output=True,
        )
    return PG_USER


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def throwaway_cluster(**settings: str) -> Iterator[Cluster]:
    """Start a fresh cluster; `settings` become `postgres -c name=value` options."""
    bin_dir = find_bin_dir()
    run_as = _ensure_user() if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="uowgen-pg-"))
    if run_as is not None:
        shutil.chown(root, user=run_as)
    data_dir = root / "data"
    _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        run_as,
    )
    conf = {"fsync": "off", "max_connections": "200", **settings}
    with (data_dir / "postgresql.conf").open("a") as handle:
        for name, value in conf.items():
            handle.write(f"{name} = '{value}'\n")
    cluster = Cluster(_free_port(), data_dir, bin_dir, run_as)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.pg_ctl("stop", "-m", "immediate", "-w", check=False)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def streaming_replica(primary: Cluster) -> Iterator[Cluster]:
    """A hot standby of `primary` on another port: `pg_basebackup -R`, then started.

    `-R` writes `standby.signal` and the primary's address, so the copy starts as a
    read-only replica streaming the primary's WAL (the throwaway clusters' trust
    authentication lets it connect for replication from 127.0.0.1).
    """
    root = Path(tempfile.mkdtemp(prefix="uowgen-pg-replica-"))
    if primary.run_as is not None:
        shutil.chown(root, user=primary.run_as)
    data_dir = root / "data"
    _run(
        [
            str(primary.bin_dir / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            str(data_dir),
            "-R",
            "-X",
            "stream",
            "--no-sync",
        ],
        primary.run_as,
    )
    replica = Cluster(_free_port(), data_dir, primary.bin_dir, primary.run_as)
    replica.start()
    try:
        yield replica
    finally:
        replica.pg_ctl("stop", "-m", "immediate", "-w", check=False)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    with throwaway_cluster() as running:
        sys.stdout.write(f"{running.url}\n")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
