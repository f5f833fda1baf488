"""Baseline: registration written the second seed's way, on the registry project.

One session per request from a `get_session` dependency that commits after the
handler; the service checks the email, calls the identity provider's admin API to
make the user, then inserts the row, all in the request's one transaction: the
connection sits idle in transaction while the provider answers. The provider client
is the generated one (`registry.auth.provider_admin.ProviderAdmin`), so the only
difference from the generated app is where the transaction is.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException, Request
from registry.auth.provider_admin import ProviderAdmin
from registry.db import create_engine
from registry.models import User
from registry.schemas.registration import Registration
from registry.schemas.user import UserPublic
from registry.settings import get_settings
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from tests.lifecycle.apps.instrument import add_stats
from tests.lifecycle.apps.registration import record_provider_calls

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


def get_provider(request: Request) -> ProviderAdmin:
    provider: ProviderAdmin = request.app.state.provider_admin
    return provider


class Service:
    def __init__(
        self,
        session: AsyncSession = Depends(get_session),  # noqa: B008
        provider: ProviderAdmin = Depends(get_provider),  # noqa: B008
    ) -> None:
        self.session = session
        self.provider = provider

    async def register(self, data: Registration) -> UserPublic:
        taken = await self.session.scalar(
            select(User.id).where(User.email == data.email)
        )
        if taken is not None:
            raise HTTPException(status_code=409, detail="User already registered")
        # The slow call, with the request's transaction open.
        subject = await self.provider.create_user(
            email=data.email,
            password=data.password.get_secret_value(),
            profile={"firstName": data.first_name, "lastName": data.last_name},
        )
        user = User(subject=subject, **data.model_dump(exclude={"password"}))
        self.session.add(user)
        await self.session.flush()
        stmt = select(User).where(User.id == user.id).options(selectinload(User.type))
        return UserPublic.model_validate((await self.session.scalars(stmt)).one())


def create_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        provider = ProviderAdmin(settings)
        provider.open()
        app.state.provider_admin = provider
        stats.attach(engine)
        record_provider_calls(provider._client, stats)
        try:
            yield
        finally:
            await provider.aclose()
            await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    stats = add_stats(app)

    @app.post("/registrations", status_code=201)
    async def register(
        body: Registration,
        service: Service = Depends(Service),  # noqa: B008
    ) -> UserPublic:
        return await service.register(body)

    return app
