"""What every app under test adds: `/_stats` counters, and cancel-on-disconnect.

`/_stats` reports, over all engines attached: connections checked out of the pool
now, the time integral of that count (its mean over a run is the difference of two
readings divided by the elapsed time), and the SQL statements executed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Stats:
    def __init__(self) -> None:
        self.engines: list[AsyncEngine] = []
        self.statements = 0
        self.checked_out = 0
        self.integral = 0.0
        self.since = time.monotonic()

    def _advance(self, delta: int) -> None:
        now = time.monotonic()
        self.integral += self.checked_out * (now - self.since)
        self.since = now
        self.checked_out += delta

    def attach(self, engine: AsyncEngine) -> None:
        self.engines.append(engine)

        def on_execute(*_args: Any) -> None:
            self.statements += 1

        event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
        event.listen(engine.sync_engine.pool, "checkout", lambda *_: self._advance(1))
        event.listen(engine.sync_engine.pool, "checkin", lambda *_: self._advance(-1))

    def snapshot(self) -> dict[str, Any]:
        self._advance(0)
        return {
            "checked_out": sum(e.pool.checkedout() for e in self.engines),  # type: ignore[attr-defined]
            "checked_out_seconds": self.integral,
            "statements": self.statements,
            "time": self.since,
        }


def directory_client() -> httpx.AsyncClient:
    """The client of the slow external service (STUB_URL), the same in every app.

    Keeps a connection per concurrent call alive (httpx keeps 20 by default, so
    40 concurrent calls would open and close TCP connections all the time).
    """
    return httpx.AsyncClient(
        base_url=os.environ.get("STUB_URL", "http://127.0.0.1:9"),
        timeout=10,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
    )


def add_stats(app: FastAPI) -> Stats:
    """Add `GET /_stats`; attach engines to the returned Stats in the lifespan."""
    stats = Stats()

    async def read_stats() -> dict[str, Any]:
        return stats.snapshot()

    app.add_api_route("/_stats", read_stats, methods=["GET"], include_in_schema=False)
    return stats


class CancelOnDisconnect:
    """ASGI middleware that cancels the request's task when the client goes away.

    Uvicorn lets a handler run on after its client disconnected; servers, proxies'
    timeouts and middlewares that cancel instead are common (the seed's
    BaseHTTPMiddleware stack did). With this the tests exercise the hard case: the
    task is cancelled wherever it is, inside a transaction scope or a query.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        queue: asyncio.Queue[Message] = asyncio.Queue()
        handler = asyncio.ensure_future(self.app(scope, queue.get, send))

        async def watch() -> None:
            while True:
                message = await receive()
                await queue.put(message)
                if message["type"] == "http.disconnect":
                    handler.cancel()
                    return

        watcher = asyncio.ensure_future(watch())
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await handler
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
