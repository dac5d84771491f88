"""The org app in-process on the run's database, called as an HQ administrator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from org_service.app import create_app
from org_service.settings import OrgSettings
from svckit.testing.asgi import internal_headers, running
from svckit.testing.plugin import StackDatabase


@pytest.fixture
async def org(stack_db: StackDatabase, internal_secret: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(OrgSettings(database_url=stack_db.dsn("org"), INTERNAL_TOKEN_SECRET=internal_secret))
    async with running(app) as client:
        client.headers.update(internal_headers(internal_secret, "org", username="hq-admin",
                                               roles=frozenset({"admin"})))
        yield client
