"""A project's first hour: code added the ordinary FastAPI way keeps its checks green.

A fastbot project gets what a user adds first, written as FastAPI's documentation
writes it (no `responses(...)`; the unit of work through `UowDep`): a route
with a path parameter and a typed return on a generated router, a route with a query
parameter and a dependency of the user's own, a middleware in `create_app`, and a
router module of the user's own included in `api/router.py`, with a test of them.
The project's own ruff, mypy --strict and pytest then pass, its test that the
OpenAPI document tells the truth among them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.helpers import check_project
from uowgen import generate, load_spec

pytestmark = pytest.mark.slow

# A route with a path parameter and a typed return, and one with a query parameter
# and a dependency of the user's own, on the generated users router.
USER_ROUTES = '''

async def name_format(upper: bool = False) -> str:
    """A dependency of my own, with a query parameter of its own."""
    return "upper" if upper else "as-is"


@router.get("/{user_id}/summary")
async def read_user_summary(uow: UowDep, user_id: int) -> UserSummary:
    """A user, in short."""
    user = await service.read_user(uow, user_id)
    return UserSummary.model_validate(user.model_dump())


@router.get("/stats/count")
async def count_users(
    uow: UowDep, style: Annotated[str, Depends(name_format)], at_least: int = 0
) -> dict[str, int | str]:
    """How many users there are, if at least `at_least`."""
    async with uow.read() as tx:
        total = await tx.users.count()
    return {"users": max(total, at_least), "style": style}
'''
USER_IMPORTS = (
    "from fastapi import Query, Request, Response, status\n",
    "from fastapi import Depends, Query, Request, Response, status\n",
)
USER_SCHEMAS = ("    UserQuery,\n", "    UserQuery,\n    UserSummary,\n")

# A router module of the user's own: a read through the unit of work, and a body.
OWN_ROUTER = '''"""Routes of my own."""

from fastapi import APIRouter
from pydantic import BaseModel

from fastbot.api.deps import UowDep

router = APIRouter(prefix="/health", tags=["health"])


class Health(BaseModel):
    status: str
    users: int


class Note(BaseModel):
    text: str
    stars: int


@router.get("")
async def read_health(uow: UowDep) -> Health:
    """Whether the database answers, and how many users it holds."""
    async with uow.read() as tx:
        users = await tx.users.count()
    return Health(status="ok", users=users)


@router.post("/notes")
async def echo_note(note: Note) -> Note:
    """A body, checked and sent back."""
    return note
'''
# The import grows past the line length, so it is wrapped as ruff formats it.
ROUTES = ("health", "language_pair", "tag", "user", "user_type", "vocabulary_set")
ROUTER_IMPORT = (
    f"from fastbot.api.routes import {', '.join(ROUTES[1:])}\n",
    "from fastbot.api.routes import (\n"
    + "".join(f"    {name},\n" for name in ROUTES)
    + ")\n",
)
ROUTER_INCLUDE = "api_router.include_router(health.router)\n"

# A middleware, the FastAPI way, in create_app.
MIDDLEWARE = """

    @app.middleware("http")
    async def add_process_time(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Process-Time"] = f"{time.perf_counter() - started:.6f}"
        return response

    return app
"""
MAIN_IMPORTS = [
    ("import logging\n", "import logging\nimport time\n"),
    (
        "from collections.abc import AsyncIterator\n",
        "from collections.abc import AsyncIterator, Awaitable, Callable\n",
    ),
    (
        "from fastapi import FastAPI\n",
        "from fastapi import FastAPI, Request, Response\n",
    ),
]

# The user's test of what they added.
OWN_TEST = '''"""My routes, my dependency, my middleware."""

from httpx import AsyncClient

from tests.utils import factories


async def test_my_routes_answer(client: AsyncClient) -> None:
    user = await factories.create_user(client)

    summary = await client.get(f"/users/{user['id']}/summary")
    count = await client.get("/users/stats/count", params={"upper": "true"})
    health = await client.get("/health")
    note = await client.post("/health/notes", json={"text": "hi", "stars": 3})

    assert summary.status_code == 200, summary.text
    assert summary.json()["email"] == user["email"]
    assert "x-process-time" in summary.headers
    assert count.json() == {"users": 1, "style": "upper"}
    assert health.json() == {"status": "ok", "users": 1}
    assert note.json() == {"text": "hi", "stars": 3}


async def test_my_routes_refuse_bad_input_with_the_projects_errors(
    client: AsyncClient,
) -> None:
    missing = await client.get("/users/999999/summary")
    not_a_number = await client.get("/users/x/summary")
    no_stars = await client.post("/health/notes", json={"text": "hi"})

    assert missing.status_code == 404
    assert not_a_number.status_code == 422
    assert no_stars.status_code == 422
    assert no_stars.json()["errors"][0]["loc"] == ["body", "stars"]
'''


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: expected one {old!r}"
    path.write_text(text.replace(old, new))


def add_user_code(project: Path) -> None:
    """Make the additions of a user's first hour to a fastbot project."""
    package = project / "src" / "fastbot"
    routes = package / "api" / "routes" / "user.py"
    replace_once(routes, *USER_IMPORTS)
    replace_once(routes, *USER_SCHEMAS)
    routes.write_text(routes.read_text() + USER_ROUTES)

    (package / "api" / "routes" / "health.py").write_text(OWN_ROUTER)
    router = package / "api" / "router.py"
    replace_once(router, *ROUTER_IMPORT)
    router.write_text(router.read_text() + ROUTER_INCLUDE)

    main = package / "main.py"
    for old, new in MAIN_IMPORTS:
        replace_once(main, old, new)
    replace_once(main, "\n    return app\n", MIDDLEWARE)

    (project / "tests" / "e2e" / "test_my_additions.py").write_text(OWN_TEST)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = load_spec(REPO / "examples" / "fastbot.yml")
    project = generate(spec, tmp_path_factory.mktemp("gen") / "fastbot")
    add_user_code(project)
    return project


def test_additions_made_the_fastapi_way_pass_the_projects_checks(
    project: Path,
) -> None:
    # ruff, ruff format, mypy --strict, then every test (the user's own included).
    check_project(project)
