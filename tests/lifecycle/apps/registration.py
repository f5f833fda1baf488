"""The rendered registry project (examples/registration.yml), served as generated.

Served with `uvicorn --factory tests.lifecycle.apps.registration:create_app` and the
rendered project's `src` on PYTHONPATH, configured by the project's own settings
(DATABASE_URL, DB_POOL_SIZE, AUTH_*). Its `POST /registrations` is the generated
read -> provider call -> write. Added here, never changing the generated code:
`/_stats`, and a request hook on the provider client that records, at each call,
whether the calling request holds a database connection.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from registry.main import create_app as create_generated_app
from registry.settings import get_settings

from tests.lifecycle.apps.instrument import Stats, add_stats


def record_provider_calls(client: httpx.AsyncClient | None, stats: Stats) -> None:
    """Note what the caller holds as each request to the provider starts."""
    assert client is not None, "the provider's client is made in the lifespan"

    async def on_request(_request: httpx.Request) -> None:
        stats.record_external_call()

    client.event_hooks = {**client.event_hooks, "request": [on_request]}


def create_app() -> FastAPI:
    app = create_generated_app(get_settings())
    stats = add_stats(app)
    generated_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with generated_lifespan(app):
            stats.attach(app.state.engine)
            record_provider_calls(app.state.provider_admin._client, stats)
            yield

    app.router.lifespan_context = lifespan
    return app
