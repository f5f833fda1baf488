"""The rendered fastbot project, served as generated, plus what the scenarios need.

Served with `uvicorn --factory tests.lifecycle.apps.generated:create_app` and the
rendered project's `src` on PYTHONPATH. Configured by the project's own settings
(DATABASE_URL, DB_POOL_SIZE, ...); STUB_URL is the slow external service.

Added here, never changing the generated code:
- `/_stats` (pool and statement counters, garbage-collection pauses);
- for the benchmark's comparisons: `BENCH_NO_GC_FREEZE=1` skips the startup
  `gc.freeze()`; `BENCH_NO_CLOSED_CHECK=1` removes the pool's check for connections
  the server closed; `BENCH_POOL_PRE_PING=1` turns `pool_pre_ping` on;
- `POST /register`: the README's worked example, `fastbot.registration`, verbatim;
- `/singleton/...`: services in the seed's style, module-level singletons sharing
  one `UnitOfWork` made at import;
- `/lifecycle/...`: a write scope that pauses inside, and a row lock held across a
  long statement, for the disconnect and cancellation scenarios; a write read back
  from the primary and from a replica, for the replica scenarios;
- `/raw/...`: hand-written FastAPI + SQLAlchemy handlers running the same queries as
  the generated GET-by-id and create, on the same engine (the overhead benchmark),
  and `/raw/register`, the README's example written by hand with early commits.
"""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import fastbot.db
import fastbot.main
from fastapi import FastAPI, HTTPException, Request
from fastbot.api.deps import UowDep
from fastbot.db import create_engine, create_session_factory
from fastbot.main import create_app as create_generated_app
from fastbot.models import User, UserType
from fastbot.registration import register_user
from fastbot.schemas.user import UserCreate, UserPublic
from fastbot.schemas.user_type import UserTypeCreate, UserTypePublic
from fastbot.services import user as user_services
from fastbot.services import user_type as user_type_services
from fastbot.settings import Settings, get_settings
from fastbot.unit_of_work import UnitOfWork
from pydantic import BaseModel
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload

from tests.lifecycle.apps.instrument import (
    CancelOnDisconnect,
    add_stats,
    directory_client,
)

# ---- The seed's style: engine, unit of work and services made once, at import.
singleton_engine = create_engine(get_settings())
singleton_uow = UnitOfWork(create_session_factory(singleton_engine))


class UserService:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def get_by_id(self, user_id: int) -> UserPublic:
        return await user_services.read_user(self._uow, user_id)

    async def create(self, data: UserCreate) -> UserPublic:
        return await user_services.create_user(self._uow, data)


class UserTypeService:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def create(self, data: UserTypeCreate) -> UserTypePublic:
        return await user_type_services.create_user_type(self._uow, data)

    async def count(self) -> int:
        async with self._uow.read() as tx:
            return await tx.user_types.count()


users_service = UserService(singleton_uow)
user_types_service = UserTypeService(singleton_uow)


class SlowWrite(BaseModel):
    tag: str
    pause: float
    in_database: bool = False


class Rename(BaseModel):
    first_name: str


class LongStatement(BaseModel):
    seconds: float


async def insert_user(session: AsyncSession, body: UserCreate) -> User:
    """INSERT, then the row joined to its user type: what the response embeds."""
    row = User(**body.model_dump())
    session.add(row)
    await session.flush()
    stmt = select(User).where(User.id == row.id).options(joinedload(User.type))
    return (await session.scalars(stmt)).one()


def _engine_for_comparison(settings: Settings) -> AsyncEngine:
    """The generated engine, changed as the BENCH_ variables say."""
    engine = create_engine(settings)
    if os.environ.get("BENCH_NO_CLOSED_CHECK") == "1":
        event.remove(engine.sync_engine, "checkout", fastbot.db._replace_closed)
    if os.environ.get("BENCH_POOL_PRE_PING") == "1":
        engine.sync_engine.pool._pre_ping = True
    return engine


def create_app() -> FastAPI:
    if os.environ.get("BENCH_NO_GC_FREEZE") == "1":
        # The lifespan looks the function up in its module when it runs.
        fastbot.main.freeze_startup_objects = lambda: None  # type: ignore[assignment]
    if "BENCH_NO_CLOSED_CHECK" in os.environ or "BENCH_POOL_PRE_PING" in os.environ:
        fastbot.main.create_engine = _engine_for_comparison  # type: ignore[assignment]
    app = create_generated_app(get_settings())
    stats = add_stats(app)
    generated_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            generated_lifespan(app),
            directory_client(stats) as directory,
        ):
            app.state.directory = directory
            app.state.raw_sessions = async_sessionmaker(
                app.state.engine, expire_on_commit=False
            )
            stats.attach(app.state.engine)
            for replica in app.state.read_engines:
                stats.attach(replica)
            stats.attach(singleton_engine)
            try:
                yield
            finally:
                await singleton_engine.dispose()

    app.router.lifespan_context = lifespan
    app.add_middleware(CancelOnDisconnect)

    # ---- The README's worked example, as a route.
    @app.post("/register", status_code=201)
    async def register(uow: UowDep, request: Request, body: UserCreate) -> UserPublic:
        return await register_user(uow, request.app.state.directory, body)

    # ---- Seed-style singletons.
    @app.get("/singleton/users/{user_id}")
    async def singleton_read_user(user_id: int) -> UserPublic:
        return await users_service.get_by_id(user_id)

    @app.post("/singleton/users", status_code=201)
    async def singleton_create_user(body: UserCreate) -> UserPublic:
        return await users_service.create(body)

    @app.post("/singleton/user-types", status_code=201)
    async def singleton_create_user_type(body: UserTypeCreate) -> UserTypePublic:
        return await user_types_service.create(body)

    @app.get("/singleton/user-types/count")
    async def singleton_count_user_types() -> int:
        return await user_types_service.count()

    # ---- Scenario helpers.
    @app.post("/lifecycle/slow-write", status_code=201)
    async def slow_write(uow: UowDep, body: SlowWrite) -> dict[str, str]:
        """Two rows in one write scope, with a pause between them."""
        async with uow.write() as tx:
            await tx.user_types.add(UserType(code=f"{body.tag}-a", name="first"))
            if body.in_database:
                await tx.session.execute(text("SELECT pg_sleep(:s)"), {"s": body.pause})
            else:
                await asyncio.sleep(body.pause)
            await tx.user_types.add(UserType(code=f"{body.tag}-b", name="second"))
        return {"tag": body.tag}

    @app.post("/lifecycle/rename/{user_id}")
    async def rename_then_read(
        uow: UowDep, user_id: int, body: Rename
    ) -> dict[str, Any]:
        """Write a user's name, then read it back from the primary and a replica."""
        async with uow.write() as tx:
            user = await tx.session.get_one(User, user_id)
            user.first_name = body.first_name
        async with uow.read(primary=True) as tx:
            from_primary = await tx.session.scalar(
                select(User.first_name).where(User.id == user_id)
            )
        async with uow.read() as tx:
            from_replica = await tx.session.scalar(
                select(User.first_name).where(User.id == user_id)
            )
        return {"primary": from_primary, "replica": from_replica}

    @app.post("/lifecycle/lock/{user_id}")
    async def lock_then_run_long(
        uow: UowDep, user_id: int, body: LongStatement
    ) -> dict[str, Any]:
        """Lock a user row, then run a long statement while holding the lock."""
        async with uow.write() as tx:
            await tx.session.execute(
                select(User.id).where(User.id == user_id).with_for_update()
            )
            await tx.session.execute(text("SELECT pg_sleep(:s)"), {"s": body.seconds})
        return {"done": True}

    # ---- Hand-written handlers: the same queries, no layers, nothing spare: the
    # session comes straight from the factory (no dependency), and the reload after
    # the insert fills in only what the flush left unloaded.
    @app.get("/raw/users/{user_id}")
    async def raw_read_user(request: Request, user_id: int) -> UserPublic:
        async with request.app.state.raw_sessions.begin() as session:
            row = await session.scalar(
                select(User).where(User.id == user_id).options(joinedload(User.type))
            )
        if row is None:
            raise HTTPException(404)
        return UserPublic.model_validate(row)

    @app.post("/raw/users", status_code=201)
    async def raw_create_user(request: Request, body: UserCreate) -> UserPublic:
        async with request.app.state.raw_sessions.begin() as session:
            row = await insert_user(session, body)
        return UserPublic.model_validate(row)

    @app.post("/raw/register", status_code=201)
    async def raw_register(request: Request, body: UserCreate) -> UserPublic:
        """The README's read -> call -> write, hand-written with early commits."""
        sessions = request.app.state.raw_sessions
        async with sessions.begin() as session:
            taken = await session.scalar(
                select(User.id).where(User.email == body.email).limit(1)
            )
        if taken is not None:
            raise HTTPException(409)
        directory = request.app.state.directory
        (await directory.get("/check", params={"q": body.email})).raise_for_status()
        async with sessions.begin() as session:
            row = await insert_user(session, body)
        return UserPublic.model_validate(row)

    return app
