"""A pooled connection that the server has closed (restart, terminated backend) never breaks the
service for good: it is replaced, and at most the request that was using it fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text

from svckit.routing import SessionDep, service_router
from svckit.testing.asgi import internal_headers, running
from svckit.testing.plugin import StackDatabase

from .conftest import kit_app

router = service_router(prefix="/pool")


@router.get("/backend")
async def backend(request: Request, session: SessionDep) -> int:
    """The server process behind this request's pooled connection."""
    connection = await session.connection()
    request.app.state.last_driver_connection = (await connection.get_raw_connection()).driver_connection
    return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


@router.get("/suicide")
async def suicide(session: SessionDep) -> None:
    """The connection dies in the middle of the request, as when the server restarts under it."""
    await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))


@dataclass
class OneConnection:
    client: httpx.AsyncClient
    app: FastAPI

    async def get(self, url: str) -> httpx.Response:
        return await self.client.get(url)


@pytest.fixture
async def one_connection(stack_db: StackDatabase, internal_secret: str) -> AsyncIterator[OneConnection]:
    """The kit service with a pool of exactly one connection, so every request reuses it."""
    app = kit_app(stack_db, internal_secret, [router], db_pool_size=1, db_max_overflow=0)
    async with running(app) as client:
        client.headers.update(internal_headers(internal_secret, "kit"))
        yield OneConnection(client, app)


async def _terminate(stack_db: StackDatabase, pid: int) -> None:
    admin = await asyncpg.connect(stack_db.database_admin_dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1, 10000)", pid)  # waits until it is gone
    finally:
        await admin.close()


async def _until_closed(driver_connection: Any) -> None:
    """Let the event loop read the server's goodbye on the idle connection (a wait, not a timing)."""
    for _ in range(1000):
        if driver_connection.is_closed():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the client never saw the server close the connection")


async def test_a_pooled_connection_the_server_closed_is_replaced_before_use(
    one_connection: OneConnection, stack_db: StackDatabase,
) -> None:
    first = await one_connection.get("/pool/backend")
    assert first.status_code == 200, first.text
    await _terminate(stack_db, first.json())
    await _until_closed(one_connection.app.state.last_driver_connection)
    second = await one_connection.get("/pool/backend")
    assert second.status_code == 200, second.text
    assert second.json() != first.json()


async def test_a_connection_dying_mid_request_fails_that_request_only(one_connection: OneConnection) -> None:
    before = await one_connection.get("/pool/backend")
    assert before.status_code == 200, before.text
    dying = await one_connection.get("/pool/suicide")
    # Its transaction died with the connection, so nothing was written: a 503 the client may retry.
    assert dying.status_code == 503
    assert dying.headers["content-type"] == "application/problem+json"
    assert dying.json()["code"] == "database_unavailable"
    for _ in range(3):
        after = await one_connection.get("/pool/backend")
        assert after.status_code == 200, after.text
        assert after.json() != before.json()
