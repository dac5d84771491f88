"""A throw-away service named `kit` over the library's own tables, for testing the library."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from svckit.app import create_service_app
from svckit.db import async_url
from svckit.models import service_metadata
from svckit.platform_tables import PlatformTables, platform_tables
from svckit.settings import ServiceSettings
from svckit.testing.asgi import running
from svckit.testing.plugin import KIT_SCHEMA, StackDatabase

KIT_TABLES = platform_tables(service_metadata(KIT_SCHEMA))


@pytest.fixture(scope="session")
def kit_tables() -> PlatformTables:
    return KIT_TABLES


@pytest.fixture
async def kit_engine(stack_db: StackDatabase) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(async_url(stack_db.dsn(KIT_SCHEMA)), pool_size=20)
    yield engine
    await engine.dispose()


def kit_app(stack_db: StackDatabase, secret: str, routers: list[APIRouter], **settings: object):  # type: ignore[no-untyped-def]
    config = ServiceSettings(database_url=stack_db.dsn(KIT_SCHEMA), INTERNAL_TOKEN_SECRET=secret, **settings)  # type: ignore[arg-type]
    return create_service_app(
        service="kit", schema=KIT_SCHEMA, settings=config, tables=KIT_TABLES,
        alembic_ini=Path("kit-has-no-migrations"), routers=routers, description="library test service",
    )


@pytest.fixture
async def kit_client(stack_db: StackDatabase, internal_secret: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running(kit_app(stack_db, internal_secret, [])) as client:
        yield client
