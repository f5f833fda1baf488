"""The rendered fastbot project with `admin: true`, served as generated.

Served with `uvicorn --factory tests.lifecycle.apps.admin:create_app` and that
project's `src` on PYTHONPATH, configured by its own settings (DATABASE_URL,
ADMIN_PASSWORD_HASH, ADMIN_SECRET_KEY, ...). Added here, never changing the
generated code: `/_stats` (pool counters) and `/_admin_stats`, how many times the
login check read `admin_sessions` (it must, on every admin request).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastbot.main import create_app as create_generated_app
from fastbot.settings import get_settings
from sqlalchemy import event

from tests.lifecycle.apps.instrument import add_stats


def create_app() -> FastAPI:
    app = create_generated_app(get_settings())
    stats = add_stats(app)
    login_checks = 0
    generated_lifespan = app.router.lifespan_context

    def count_login_checks(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal login_checks
        if (
            statement.lstrip().startswith("SELECT")
            and "FROM admin_sessions" in statement
        ):
            login_checks += 1

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with generated_lifespan(app):
            stats.attach(app.state.engine)
            event.listen(
                app.state.engine.sync_engine,
                "before_cursor_execute",
                count_login_checks,
            )
            yield

    app.router.lifespan_context = lifespan

    async def admin_stats() -> dict[str, int]:
        return {"login_checks": login_checks}

    app.add_api_route(
        "/_admin_stats", admin_stats, methods=["GET"], include_in_schema=False
    )
    return app
