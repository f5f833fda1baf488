"""Fuzz a generated project's HTTP API with schemathesis, on SQLite or PostgreSQL.

One run: render a spec into a folder, migrate a fresh database, serve the app with
uvicorn on 127.0.0.1, point the schemathesis CLI at its /openapi.json, stop the
server. `tests/integration/test_fuzz.py` runs every spec on both databases at the CI
budget; `./scripts/fuzz` (`python -m tests.fuzz`) runs the same code with a longer
budget. Every subprocess has a timeout and nothing listens beyond loopback.
Schemathesis also loads this file as its hooks module: see `register_checks`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import schemathesis
from schemathesis import CheckContext, Response
from schemathesis.generation.case import Case
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import EDGE_SPECS, EXAMPLES, REPO
from tests.postgres import throwaway_cluster
from uowgen import ProjectSpec, generate, load_spec

SPECS = EXAMPLES + EDGE_SPECS
DATABASES = ("sqlite", "postgresql")
PYTHON = sys.executable
SCHEMATHESIS = str(Path(PYTHON).parent / "schemathesis")

# Fixed, so a failure in CI reproduces locally with the same command.
SEED = 20240229
# Test cases per operation in the fuzzing phase, and stateful scenarios; the
# coverage phase's cases come from the schema (a fixed cost, a third of a run). At 20
# the twelve test runs take about 3 minutes on 2 cores; halving it saves a fifth.
CI_MAX_EXAMPLES = 20
LOCAL_MAX_EXAMPLES = 200
# Calls per stateful scenario.
STATEFUL_STEPS = 10

# Every check. Together they say: no 5xx (not_a_server_error), only documented
# statuses, content types, headers and bodies (status_code_conformance,
# content_type_conformance, response_headers_conformance,
# response_schema_conformance), what the document allows is accepted and what it
# forbids is refused (positive_data_acceptance, negative_data_rejection), a deleted
# resource is gone and a created one is there (use_after_free,
# ensure_resource_availability), undeclared methods answer 405 with a correct Allow
# header (unsupported_method, allow_header_conformance). The auth and header checks
# find nothing to test in an API without security schemes or header parameters.
# positive_data_acceptance runs narrowed by one case, as
# `positive_data_acceptance_but_missing_rows` (see there): schemathesis's own is
# excluded, and this module is its hooks module (SCHEMATHESIS_HOOKS).
CHECKS = "all"
EXCLUDED_CHECKS = "positive_data_acceptance"
HOOKS = "tests.fuzz"
# The details of the 422 that refuses a reference to no row: a ref field's (the
# generated project's db_errors.py), and a link's, `tag_ids` or `PUT .../tags/{tag_id}`
# (repositories/base.py: "no Tag with id 7, 9").
MISSING_ROW = re.compile(
    r".+ refers to a row that does not exist|no [A-Za-z0-9]+ with id [0-9]+(, [0-9]+)*"
)
# The start of the message of the 422 that refuses a list's `cursor` that no page
# of this query gave (the generated project's schemas/query.py).
BAD_CURSOR = "Value error, cursor: "

SERVER_START_TIMEOUT = 30.0
SERVER_STOP_TIMEOUT = 15.0
REQUEST_TIMEOUT = 10.0
# What the assertion message quotes of the schemathesis report and the server log.
REPORT_LIMIT = 8_000
LOG_TAIL = 2_000


def run_timeout(max_examples: int) -> float:
    """Seconds one schemathesis run may take before it is killed."""
    return 300.0 + 6.0 * max_examples


@dataclass(frozen=True)
class FuzzResult:
    """What one schemathesis run against one served project left behind."""

    label: str
    rerun: str
    returncode: int
    output: str
    server_log: str
    workdir: Path
    seconds: float

    @property
    def passed(self) -> bool:
        """Whether schemathesis found nothing (exit code 0)."""
        return self.returncode == 0

    def report(self) -> str:
        """The failures, schemathesis's summary, and what the server logged."""
        heading = (
            f"schemathesis on {self.label}: exit code {self.returncode} after "
            f"{self.seconds:.0f} s; its output, JUnit report and replay cache "
            f"(`schemathesis replay`, needs the server) are in {self.workdir}; "
            f"run it again with: {self.rerun}"
        )
        return "\n".join(
            [
                heading,
                "---- distinct failures: check, status <- operations",
                *distinct_failures(self.output),
                _failure_summary(self.output),
                link_route_summary(stateful_calls(self.workdir)),
                "---- server errors (last line of each distinct traceback)",
                *_server_errors(self.server_log),
                f"---- server log, last {LOG_TAIL} characters",
                self.server_log[-LOG_TAIL:],
            ]
        )


def stateful_calls(workdir: Path) -> Counter[tuple[str, str, int]]:
    """The calls of a run's stateful phase: (method, path template, status) -> count.

    Read from the run's NDJSON report (one event a line), whose finished scenarios
    hold their requests and responses.
    """
    calls: Counter[tuple[str, str, int]] = Counter()
    for report in sorted((workdir / "report").glob("ndjson-*.ndjson")):
        with report.open(encoding="utf-8") as lines:
            for line in lines:
                if not line.startswith('{"ScenarioFinished"'):
                    continue
                scenario = json.loads(line)["ScenarioFinished"]
                if scenario["phase"] != "stateful":
                    continue
                recorder = scenario["recorder"]
                for case_id, case in recorder.get("cases", {}).items():
                    answer = recorder["interactions"].get(case_id, {}).get("response")
                    if answer is not None:
                        request = case["value"]
                        key = (
                            request["method"],
                            request["path"],
                            answer["status_code"],
                        )
                        calls[key] += 1
    return calls


def link_route_summary(calls: Counter[tuple[str, str, int]]) -> str:
    """How often the stateful phase called the link routes of many fields (a path
    with two parameters, `/sets/{set_id}/tags/{tag_id}`), and with what answer."""
    routes: dict[str, Counter[int]] = {}
    for (method, path, status), count in calls.items():
        if path.count("{") == 2 and method in ("PUT", "DELETE"):
            routes.setdefault(f"{method} {path}", Counter())[status] += count
    total = sum(calls.values())
    if not routes:
        return f"stateful phase: {total} calls, none to a link route"
    lines = [f"stateful phase: {total} calls; to link routes:"]
    for route, statuses in sorted(routes.items()):
        answers = ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items()))
        lines.append(f"  {sum(statuses.values()):4}  {route}  ({answers})")
    return "\n".join(lines)


def distinct_failures(output: str) -> list[str]:
    """One line per (check, status) in a run's FAILURES section, with its operations.

    Schemathesis prints a heading per operation (`____ GET /notes/{note_id} ____`),
    then numbered test cases, each naming its failed checks (`- ST103 Undocumented
    status code`) and the response (`[404] Not Found:`).
    """
    operations: dict[tuple[str, str], list[str]] = {}
    operation = ""
    checks: list[str] = []
    for line in output.splitlines():
        if heading := re.fullmatch(r"_{3,} (.+?) _{3,}", line):
            operation, checks = heading.group(1), []
        elif re.match(r"\d+\. Test Case ID: ", line):
            checks = []
        elif check := re.fullmatch(r"- (ST\d+ .+)", line):
            checks.append(check.group(1))
        elif (status := re.match(r"\[(\d{3})\] ", line)) and operation:
            for name in checks:
                seen = operations.setdefault((name, status.group(1)), [])
                if operation not in seen:
                    seen.append(operation)
            checks = []
    return [
        f"{name}, {status} <- {', '.join(where)}"
        for (name, status), where in sorted(operations.items())
    ] or ["(none parsed; see below)"]


def _failure_summary(output: str) -> str:
    """The FAILURES / ERRORS sections (capped) and the SUMMARY of a run's output."""
    starts = [
        match.start()
        for marker in ("FAILURES", "ERRORS", "WARNINGS", "SUMMARY")
        if (match := re.search(rf"^=+ {marker} =+$", output, re.MULTILINE))
    ]
    if not starts:
        return output[-REPORT_LIMIT:]
    body = output[min(starts) :]
    summary_at = body.find("=== SUMMARY")
    details, summary = (
        (body[:summary_at], body[summary_at:]) if summary_at >= 0 else (body, "")
    )
    if len(details) > REPORT_LIMIT:
        cut = len(details) - REPORT_LIMIT
        details = f"{details[:REPORT_LIMIT]}\n... ({cut} more characters)\n"
    return details + summary


IN_TRACEBACK = (" ", "Traceback", "The above exception", "During handling")


def _server_errors(log: str) -> list[str]:
    """The exception line that ends each traceback in the server log, deduplicated."""
    errors: dict[str, None] = {}
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Traceback"):
            for candidate in lines[index + 1 :]:
                # Skip frames and the lines that join chained exceptions.
                if candidate and not candidate.startswith(IN_TRACEBACK):
                    errors.setdefault(candidate[:300])
                    break
    return list(errors) or ["(none)"]


# --------------------------------------------------------------------------- databases


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _admin(server_url: str, statement: str) -> None:
    """Run one statement outside a transaction on the server's `postgres` database."""
    dsn = server_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def go() -> None:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            await conn.execute(statement, timeout=30)
        finally:
            await conn.close()

    asyncio.run(go())


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path, server_url: str | None) -> Iterator[str]:
    """The URL of an empty database of `kind`; a PostgreSQL one is dropped at exit.

    SQLite is a file in workdir; PostgreSQL is a new database on the server at
    server_url, so projects fuzzed on one server never share tables.
    """
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'fuzz.db'}"
        return
    if kind != "postgresql" or server_url is None:
        raise ValueError(f"no server for database kind {kind!r}")
    name = f"fuzz_{secrets.token_hex(6)}"
    _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------- one run


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> None:
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )


def _text(captured: str | bytes | None) -> str:
    """Captured output as text (TimeoutExpired carries bytes even with text=True)."""
    if isinstance(captured, bytes):
        return captured.decode(errors="replace")
    return captured or ""


@contextlib.contextmanager
def serve(project: Path, env: dict[str, str], log_path: Path) -> Iterator[str]:
    """Serve the project with uvicorn on 127.0.0.1; yield its base URL, then stop it."""
    package = next(path.parent.name for path in (project / "src").glob("*/main.py"))
    port = free_port()
    command = [
        PYTHON, "-m", "uvicorn", "--factory", f"{package}.main:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the server did not answer in {SERVER_START_TIMEOUT} s:\n"
                    f"{log_path.read_text()}"
                )
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=SERVER_STOP_TIMEOUT)


def schemathesis_command(
    schema_url: str, workdir: Path, *, max_examples: int, seed: int
) -> list[str]:
    """The schemathesis CLI call: every phase, fixed seed and budget, one worker.

    Writes its configuration file (the stateful phase's scenario length) to workdir;
    the reports (JUnit, and NDJSON for `stateful_calls`) go to workdir/report.
    """
    # Scenarios of up to 10 calls (the default is 6): the stateful phase can then
    # make a row's references first (user type -> user -> vocabulary set) and still
    # link, read and unlink it.
    config = workdir / "schemathesis.toml"
    config.write_text(f"[phases.stateful]\nmax-steps = {STATEFUL_STEPS}\n")
    return [
        SCHEMATHESIS, "--config-file", str(config), "run", schema_url,
        "--checks", CHECKS, "--exclude-checks", EXCLUDED_CHECKS,
        "--phases", "examples,coverage,fuzzing,stateful",
        "--seed", str(seed),
        "--max-examples", str(max_examples),
        # No example database: a run depends on the seed, not on earlier runs.
        "--generation-database", "none",
        "--request-timeout", str(REQUEST_TIMEOUT),
        "--workers", "1",
        "--report", "junit,ndjson", "--report-dir", str(workdir / "report"),
        "--no-color",
    ]  # fmt: skip


@contextlib.contextmanager
def identity_provider(
    spec: ProjectSpec, project: Path, lifetime_s: float
) -> Iterator[tuple[dict[str, str], list[str]]]:
    """With `auth` on, the project's own stub provider (tests/utils/oidc_provider.py)
    served on 127.0.0.1; yields the app's AUTH_* settings and schemathesis's
    arguments: a bearer token with every role the spec names, valid `lifetime_s`.
    Without auth, nothing: ({}, [])."""
    if spec.auth is None:
        yield {}, []
        return
    found = importlib.util.spec_from_file_location(
        f"oidc_provider_{secrets.token_hex(4)}",
        project / "tests" / "utils" / "oidc_provider.py",
    )
    assert found is not None and found.loader is not None
    stub = importlib.util.module_from_spec(found)
    sys.modules[found.name] = stub  # its dataclasses look their module up
    found.loader.exec_module(stub)
    rules = [model.access_rules() for model in spec.models]
    roles = sorted(
        value.removeprefix("role:")
        for value in {rule.read for rule in rules} | {rule.write for rule in rules}
        if value.startswith("role:")
    )
    with stub.StubProvider().serving() as provider:
        token = provider.token(roles=roles, exp=int(time.time() + lifetime_s))
        settings = {"AUTH_ISSUER_URL": provider.issuer, "AUTH_AUDIENCE": stub.AUDIENCE}
        if spec.auth.registration:  # its service account, for the admin API
            settings["AUTH_ADMIN_CLIENT_ID"] = stub.ADMIN_CLIENT_ID
            settings["AUTH_ADMIN_CLIENT_SECRET"] = stub.ADMIN_CLIENT_SECRET
        yield settings, ["--header", f"Authorization: Bearer {token}"]


def fuzz_spec(
    spec_path: Path,
    database: str,
    workdir: Path,
    *,
    postgres_url: str | None = None,
    max_examples: int = CI_MAX_EXAMPLES,
    seed: int = SEED,
) -> FuzzResult:
    """Render spec_path into workdir, serve it on a fresh `database` and fuzz it.

    `postgres_url` is the asyncpg URL of a server to create the PostgreSQL database
    on. Raises RuntimeError when the project cannot be migrated or served, and
    subprocess.TimeoutExpired when the migration hangs. A schemathesis run that
    finds a problem, or outlives its timeout, is a FuzzResult that has not passed.
    """
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    spec = load_spec(spec_path)
    project = generate(spec, workdir / "project")
    log_path = workdir / "server.log"
    with (
        fresh_database(database, workdir, postgres_url) as database_url,
        identity_provider(spec, project, 2 * run_timeout(max_examples)) as auth,
    ):
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PYTHONPATH": str(project / "src"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "NO_COLOR": "1",
            **auth[0],  # with `auth` on: the stub provider's issuer and audience
        }
        _run([PYTHON, "-m", "alembic", "upgrade", "head"], project, env, 120)
        with serve(project, env, log_path) as url:
            command = schemathesis_command(
                f"{url}/openapi.json", workdir, max_examples=max_examples, seed=seed
            )
            command += auth[1]  # with `auth` on: its token
            timeout = run_timeout(max_examples)
            # The hooks module is this one: the repository is on its path.
            hooked = {
                **env,
                "SCHEMATHESIS_HOOKS": HOOKS,
                "PYTHONPATH": os.pathsep.join([env["PYTHONPATH"], str(REPO)]),
            }
            try:
                # cwd=workdir: schemathesis keeps its replay cache in the current
                # folder.
                result = subprocess.run(
                    command,
                    cwd=workdir,
                    env=hooked,
                    capture_output=True,
                    text=True,
                    check=False,
                    timeout=timeout,
                )
                returncode, output = result.returncode, result.stdout + result.stderr
            except subprocess.TimeoutExpired as exc:
                # Killed: keep what it printed and fail the run.
                output, returncode = _text(exc.stdout) + _text(exc.stderr), -1
                output += f"\n(schemathesis did not finish in {timeout:.0f} s)"
    (workdir / "schemathesis.txt").write_text(output)
    return FuzzResult(
        label=f"{spec_path.stem} on {database}",
        rerun=f"./scripts/fuzz {spec_path} --database {database} "
        f"--max-examples {max_examples} --seed {seed}",
        returncode=returncode,
        output=output,
        server_log=log_path.read_text(errors="replace"),
        workdir=workdir,
        seconds=time.monotonic() - started,
    )


# --------------------------------------------------------------------------- checks


def positive_data_acceptance_but_missing_rows(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """Schemathesis's positive_data_acceptance, but for a reference to no row, or
    a list's cursor that no page gave.

    A request can be valid by the document and still name a row that does not exist
    (a `ref` field's id, a linked id in a body or a link route's path): well formed,
    and wrong, so the API refuses it with 422 and a Problem saying so, with no input
    `errors`. No document can say which ids
    exist. Only that answer is let through; any other refusal of valid input (a 422
    naming an input, a 400) still fails the run.
    """
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 422 and (
            _names_missing_row(response) or _refuses_a_cursor(response)
        ):
            return None
        raise


def _names_missing_row(response: Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and body.get("errors") == []
        and MISSING_ROW.fullmatch(str(body.get("detail", ""))) is not None
    )


def _refuses_a_cursor(response: Response) -> bool:
    """A list's `cursor` is opaque text: no document can say which text a page gave,
    so a well-formed one that none did is refused (422), and only for that."""
    try:
        body = response.json()
    except ValueError:
        return False
    errors = body.get("errors") if isinstance(body, dict) else None
    return (
        isinstance(errors, list)
        and bool(errors)
        and all(str(error.get("msg", "")).startswith(BAD_CURSOR) for error in errors)
    )


def register_checks() -> None:
    """Register the harness's own checks with schemathesis (in its process)."""
    schemathesis.check(positive_data_acceptance_but_missing_rows)


# --------------------------------------------------------------------------- CLI


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/fuzz",
        description="Fuzz generated projects with schemathesis (a longer budget "
        "than the test suite's). Exit code 1 when any run finds a problem.",
    )
    parser.add_argument(
        "specs",
        nargs="*",
        type=Path,
        metavar="SPEC",
        help="spec files (default: examples/*.yml and tests/specs/*.yml)",
    )
    parser.add_argument(
        "--max-examples",
        type=int,
        default=int(os.environ.get("FUZZ_MAX_EXAMPLES", LOCAL_MAX_EXAMPLES)),
        help="test cases per operation and stateful scenarios "
        "(env FUZZ_MAX_EXAMPLES; default %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=int(os.environ.get("FUZZ_SEED", SEED)),
        help="(env FUZZ_SEED; default %(default)s)",
    )
    parser.add_argument(
        "--database",
        action="append",
        choices=DATABASES,
        help="repeatable (default: both; only sqlite with UOWGEN_SKIP_POSTGRES=1)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="render and keep every run's files under DIR (default: a temporary "
        "folder, deleted when every run passed)",
    )
    args = parser.parse_args(argv)
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep}: not empty; give a new or empty folder")
    if not args.database:
        skip_postgres = os.environ.get("UOWGEN_SKIP_POSTGRES") == "1"
        args.database = ["sqlite"] if skip_postgres else list(DATABASES)
    args.specs = [path.resolve() for path in args.specs] or SPECS
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Fuzz every requested spec on every requested database; print a report."""
    args = _parse(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="uowgen-fuzz-"))
    results: list[FuzzResult] = []
    with contextlib.ExitStack() as stack:
        postgres_url = None
        if "postgresql" in args.database:
            postgres_url = stack.enter_context(throwaway_cluster()).url
        for spec in args.specs:
            for database in args.database:
                label = f"{spec.stem} on {database}"
                sys.stdout.write(f"== {label}: {args.max_examples} examples\n")
                sys.stdout.flush()
                result = fuzz_spec(
                    spec,
                    database,
                    root / f"{spec.stem}-{database}",
                    postgres_url=postgres_url,
                    max_examples=args.max_examples,
                    seed=args.seed,
                )
                results.append(result)
                verdict = "passed" if result.passed else "FAILED"
                if not result.passed:
                    sys.stdout.write(result.report() + "\n")
                sys.stdout.write(link_route_summary(stateful_calls(result.workdir)))
                sys.stdout.write("\n")
                sys.stdout.write(f"== {label}: {verdict} in {result.seconds:.0f} s\n")
                sys.stdout.flush()
    sys.stdout.write("\n")
    for result in results:
        verdict = "passed" if result.passed else "FAILED"
        sys.stdout.write(f"{verdict:6}  {result.seconds:5.0f} s  {result.label}\n")
    if all(result.passed for result in results):
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
        return 0
    sys.stdout.write(f"runs kept in {root}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
elif os.environ.get("SCHEMATHESIS_HOOKS") == __name__:  # imported by schemathesis
    register_checks()
