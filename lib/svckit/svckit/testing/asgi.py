"""Calling apps in-process in tests: lifespan run, ASGI transport, internal tokens minted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from svckit.internal_auth import mint_internal_token


@asynccontextmanager
async def running(app: FastAPI, base_url: str = "http://service.test") -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and yield a client that talks to it without a socket."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


def internal_headers(
    secret: str, audience: str, *, caller_service: str = "gateway", user_id: str | None = "u-1",
    username: str | None = "tester", roles: frozenset[str] = frozenset({"agent"}),
) -> dict[str, str]:
    token = mint_internal_token(secret, caller_service=caller_service, audience=audience, user_id=user_id,
                                username=username, roles=roles)
    return {"Authorization": f"Bearer {token}"}
