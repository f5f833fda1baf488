"""The README's first command: generate the example, migrate, serve and call the API."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_scripts_demo_serves_the_example_on_sqlite() -> None:
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "demo")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        env={**os.environ, "DEMO_EXIT": "1", "PORT": str(free_port())},
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert "Running upgrade  -> 0001" in result.stderr
    for line in (
        "POST /user-types -> 201",
        "POST /users -> 201",
        "POST /users -> 409",
        "PATCH /users/1 -> 200",
        "PATCH /users/1 -> 409",
        "GET /users?limit=10 -> 200",
        "GET /users/999 -> 404",
        "POST /vocabulary-sets -> 201",
        "PUT /vocabulary-sets/1/tags/2 -> 204",
        "GET /vocabulary-sets?tag_id=2&sort=-title -> 200",
        "PATCH /vocabulary-sets/1 -> 409",
    ):
        assert line in out, out[-3000:]
    assert (REPO / "build" / "fastbot" / "fastbot.db").is_file()
