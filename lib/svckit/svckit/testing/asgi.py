"""Calling apps in-process in tests: lifespan run, ASGI transport, internal tokens minted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from svckit.internal_auth import mint_internal_token
from svckit.scope import DataScope


@asynccontextmanager
async def running(app: FastAPI, base_url: str = "http://service.test") -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and yield a client that talks to it without a socket."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


def internal_headers(
    secret: str, audience: str, *, caller_service: str = "gateway", user_id: str | None = "u-1",
    username: str | None = "tester", roles: frozenset[str] = frozenset({"agent"}), scope: DataScope | None = None,
    institutions: frozenset[int] = frozenset(),
) -> dict[str, str]:
    """Headers of a call as the gateway would make it; an admin gets the whole-company scope by default."""
    if scope is None and "admin" in roles:
        scope = DataScope(everything=True)
    token = mint_internal_token(secret, caller_service=caller_service, audience=audience, user_id=user_id,
                                username=username, roles=roles, scope=scope, institutions=institutions)
    return {"Authorization": f"Bearer {token}"}
