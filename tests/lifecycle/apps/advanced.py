"""Baseline: the seed flow written the way advanced-alchemy documents it for FastAPI.

`AdvancedAlchemy` on the app with `commit_mode="autocommit"`, a repository service
provided per request by `alchemy.provide_service`, idiomatic defaults. Only the
pool size, the overflow and the application_name are set, as for every app in the
benchmark. A benchmark-only dependency (`advanced-alchemy`, the `bench` extra).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
from advanced_alchemy.extensions.fastapi import (
    AdvancedAlchemy,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from fastapi import Depends, FastAPI, HTTPException, Request
from fastbot.models import User
from fastbot.schemas.user import UserCreate, UserPublic
from fastbot.settings import get_settings
from sqlalchemy.orm import selectinload

from tests.lifecycle.apps.instrument import add_stats, directory_client


class UserService(SQLAlchemyAsyncRepositoryService[User]):
    class Repo(SQLAlchemyAsyncRepository[User]):
        model_type = User

    repository_type = Repo


def create_app() -> FastAPI:
    settings = get_settings()
    config = SQLAlchemyAsyncConfig(
        connection_string=settings.database_url,
        commit_mode="autocommit",
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=EngineConfig(
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            connect_args={
                "server_settings": {"application_name": settings.db_application_name}
            },
        ),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with directory_client(stats) as directory:
            app.state.directory = directory
            yield

    app = FastAPI(lifespan=lifespan)
    alchemy = AdvancedAlchemy(config=config, app=app)
    stats = add_stats(app)
    stats.attach(config.get_engine())

    Users = Annotated[UserService, Depends(alchemy.provide_service(UserService))]

    @app.post("/register", status_code=201)
    async def register(users: Users, request: Request, body: UserCreate) -> UserPublic:
        if await users.exists(email=body.email):
            raise HTTPException(status_code=409, detail="User already registered")
        directory: httpx.AsyncClient = request.app.state.directory
        response = await directory.get("/check", params={"q": body.email})
        response.raise_for_status()
        user = await users.create(body.model_dump())
        user = await users.get(user.id, load=[selectinload(User.type)])
        return users.to_schema(user, schema_type=UserPublic)

    return app
