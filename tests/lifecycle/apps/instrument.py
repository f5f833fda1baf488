"""What every app under test adds: `/_stats` counters, and cancel-on-disconnect.

`/_stats` reports, over all engines attached: connections checked out of the pool
now, the time integral of that count (its mean over a run is the difference of two
readings divided by the elapsed time), and the SQL statements executed.

It also reports what each request held when it called the slow external service.
The pool's checkout and checkin events note which request checked each connection
out (a context variable set per request by `TagRequests`, so tasks a request starts
count as the request; the current task outside a request). The directory client's
request hook runs in the calling request at the moment the call starts and counts
the connections that request has checked out then, and how many of them are inside
a transaction on the server (asyncpg's `is_in_transaction()`). Only the engines
attached and the client from `directory_client(stats)` are involved, nothing of the
app's own code.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import os
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(eq=False)
class RequestTag:
    """One HTTP request: what the pool events attribute connections to."""

    path: str
    checkouts: int = 0  # connections this request has checked out so far


_request: ContextVar[RequestTag | None] = ContextVar("lifecycle_request", default=None)


def _current_owner() -> object | None:
    """The current request's tag; outside a request, the current task (or None)."""
    tag = _request.get()
    if tag is not None:
        return tag
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop (a checkout from a plain thread)
        return None


def _in_transaction(record: ConnectionPoolEntry) -> bool:
    """Whether the server has a transaction open on this connection (asyncpg's, or
    psycopg's behind PgBouncer)."""
    driver = record.driver_connection
    if driver is None:
        return False
    if hasattr(driver, "is_in_transaction"):  # asyncpg
        return bool(driver.is_in_transaction())
    return driver.info.transaction_status != TransactionStatus.IDLE  # psycopg


class TagRequests:
    """ASGI middleware: gives each HTTP request its own `RequestTag`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _request.set(RequestTag(path=scope["path"]))
        try:
            await self.app(scope, receive, send)
        finally:
            _request.reset(token)


class Stats:
    def __init__(self) -> None:
        self.engines: list[AsyncEngine] = []
        self.statements = 0
        self.checked_out = 0
        self.integral = 0.0
        self.since = time.monotonic()
        # The owner (a RequestTag or a task) of every connection checked out now.
        self.owners: dict[ConnectionPoolEntry, object | None] = {}
        self.calls = 0
        self.calls_after_checkout = 0
        self.calls_holding_connection = 0
        self.calls_in_transaction = 0
        self.most_held_at_call = 0
        self.offending_calls: list[dict[str, Any]] = []  # the first few, for messages
        # Garbage collections of 1 ms or more: (monotonic end, generation, ms).
        # The event loop runs nothing meanwhile, open transactions included.
        self.gc_pauses: collections.deque[tuple[float, int, float]] = collections.deque(
            maxlen=10_000
        )
        self._gc_started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        now = time.monotonic()
        if phase == "start":
            self._gc_started = now
        elif (now - self._gc_started) >= 0.001:
            pause = (now - self._gc_started) * 1000
            self.gc_pauses.append((now, info["generation"], pause))

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
        event.listen(engine.sync_engine.pool, "checkout", self._on_checkout)
        event.listen(engine.sync_engine.pool, "checkin", self._on_checkin)

    def _on_checkout(
        self, _dbapi: Any, record: ConnectionPoolEntry, _proxy: Any
    ) -> None:
        # Runs in the task (and context) that asked for the connection: SQLAlchemy's
        # greenlets carry the caller's contextvars.
        self._advance(1)
        owner = _current_owner()
        if isinstance(owner, RequestTag):
            owner.checkouts += 1
        self.owners[record] = owner

    def _on_checkin(self, _dbapi: Any, record: ConnectionPoolEntry) -> None:
        self._advance(-1)
        self.owners.pop(record, None)

    def record_external_call(self) -> None:
        """Note what the calling request holds as it starts an external call."""
        owner = _current_owner()
        held = [r for r, o in self.owners.items() if owner is not None and o is owner]
        in_transaction = sum(1 for r in held if _in_transaction(r))
        self.calls += 1
        if isinstance(owner, RequestTag) and owner.checkouts:
            self.calls_after_checkout += 1
        self.most_held_at_call = max(self.most_held_at_call, len(held))
        if held:
            self.calls_holding_connection += 1
        if in_transaction:
            self.calls_in_transaction += 1
        if (held or in_transaction) and len(self.offending_calls) < 5:
            self.offending_calls.append(
                {
                    "path": owner.path if isinstance(owner, RequestTag) else None,
                    "held": len(held),
                    "in_transaction": in_transaction,
                }
            )

    def snapshot(self) -> dict[str, Any]:
        self._advance(0)
        return {
            "checked_out": sum(e.pool.checkedout() for e in self.engines),  # type: ignore[attr-defined]
            "checked_out_seconds": self.integral,
            "statements": self.statements,
            "time": self.since,
            "gc_pauses": list(self.gc_pauses),
            "external_calls": {
                "calls": self.calls,
                "after_checkout": self.calls_after_checkout,
                "holding_connection": self.calls_holding_connection,
                "in_transaction": self.calls_in_transaction,
                "most_held": self.most_held_at_call,
                "offending": self.offending_calls,
            },
        }


def directory_client(stats: Stats) -> httpx.AsyncClient:
    """The client of the slow external service (STUB_URL), the same in every app.

    Keeps a connection per concurrent call alive (httpx keeps 20 by default, so
    40 concurrent calls would open and close TCP connections all the time). Each
    call is recorded in `stats` as it starts (httpx runs request hooks in the
    caller's task, before sending).
    """

    async def on_request(_request: httpx.Request) -> None:
        stats.record_external_call()

    return httpx.AsyncClient(
        base_url=os.environ.get("STUB_URL", "http://127.0.0.1:9"),
        timeout=10,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
        event_hooks={"request": [on_request]},
    )


def add_stats(app: FastAPI) -> Stats:
    """Add `GET /_stats` and the `TagRequests` middleware; attach engines to the
    returned Stats in the lifespan and pass it to `directory_client`."""
    stats = Stats()
    app.add_middleware(TagRequests)

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
