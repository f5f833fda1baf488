"""Baseline: the seed's session-per-request pattern, on the rendered project's models.

One session per request from a `get_session` dependency that commits after the
handler; repositories and the service receive it through `Depends`; the service
checks the email, awaits the external service, then creates the user, all in the
one transaction. This is the pattern the first seed report describes.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import Depends, FastAPI, HTTPException, Request
from fastbot.db import create_engine
from fastbot.models import User
from fastbot.schemas.user import UserCreate, UserPublic
from fastbot.settings import get_settings
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from tests.lifecycle.apps.instrument import add_stats, directory_client

settings = get_settings()
engine = create_engine(settings)
Session = async_sessionmaker(bind=engine, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    session = Session()
    try:
        yield session
        await session.commit()
    except Exception:
        await session.rollback()
        raise
    finally:
        await session.close()


class BaseRepository:
    def __init__(self, session: AsyncSession = Depends(get_session)) -> None:  # noqa: B008
        self._session = session


class Repository(BaseRepository):
    async def email_registered(self, email: str) -> bool:
        stmt = select(User.id).where(User.email == email)
        return (await self._session.scalar(stmt)) is not None


class UsersRepository(BaseRepository):
    async def create(self, data: UserCreate) -> User:
        user = User(**data.model_dump())
        self._session.add(user)
        await self._session.flush()
        return user

    async def get_with_type(self, user_id: int) -> User:
        stmt = select(User).where(User.id == user_id).options(selectinload(User.type))
        return (await self._session.scalars(stmt)).one()


def get_directory(request: Request) -> httpx.AsyncClient:
    directory: httpx.AsyncClient = request.app.state.directory
    return directory


class Service:
    def __init__(
        self,
        repository: Repository = Depends(Repository),  # noqa: B008
        users_repository: UsersRepository = Depends(UsersRepository),  # noqa: B008
        directory: httpx.AsyncClient = Depends(get_directory),  # noqa: B008
    ) -> None:
        # All repositories share the same session (FastAPI caches get_session).
        self.repository = repository
        self.users_repository = users_repository
        self.directory = directory

    async def create_user(self, data: UserCreate) -> UserPublic:
        if await self.repository.email_registered(data.email):
            raise HTTPException(status_code=409, detail="User already registered")
        # The slow call, with the request's transaction open.
        response = await self.directory.get("/check", params={"q": data.email})
        response.raise_for_status()
        user = await self.users_repository.create(data)
        user = await self.users_repository.get_with_type(user.id)
        return UserPublic.model_validate(user)


def create_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with directory_client(stats) as directory:
            app.state.directory = directory
            try:
                yield
            finally:
                await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    stats = add_stats(app)
    stats.attach(engine)

    @app.post("/register", status_code=201)
    async def register(
        body: UserCreate,
        service: Service = Depends(Service),  # noqa: B008
    ) -> UserPublic:
        return await service.create_user(body)

    return app
