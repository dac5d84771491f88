"""Readiness of the gateway itself and of every service behind it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from gateway_service.upstreams import Upstreams
from svckit.db import Database
from svckit.migrations import current_revisions, head_revisions


async def own_readiness(db: Database, alembic_ini: Path) -> dict[str, Any]:
    """The gateway's database answers and its schema is at migration head."""
    heads = head_revisions(alembic_ini)
    try:
        async with db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            current = await current_revisions(connection, db.schema)
    except Exception as exc:  # unreachable or refusing us: not ready, and say which kind of failure
        return {"status": "unavailable", "database": "unreachable", "error": type(exc).__name__}
    at_head = current == heads
    return {
        "status": "ready" if at_head else "migrations_pending", "database": "ok",
        "migration": {"current": sorted(current), "head": sorted(heads), "at_head": at_head},
    }


async def _service_readiness(client: httpx.AsyncClient, url: httpx.URL, timeout: float) -> dict[str, Any]:
    try:
        response = await client.get(url, timeout=timeout)
    except httpx.TimeoutException:
        return {"status": "timeout"}
    except httpx.RequestError as exc:
        return {"status": "unreachable", "error": type(exc).__name__}
    try:
        body = response.json()
    except ValueError:
        return {"status": "invalid_answer", "http_status": response.status_code}
    if not isinstance(body, dict):
        return {"status": "invalid_answer", "http_status": response.status_code}
    return {"status": str(body.get("status") or "not_ready"), "migration": body.get("migration"), "database": body.get("database")}


async def services_readiness(upstreams: Upstreams, timeout: float) -> dict[str, dict[str, Any]]:
    """Ask every service's /readyz at once; one slow service costs at most `timeout`."""
    names = upstreams.names
    results = await asyncio.gather(*(
        _service_readiness(upstreams.client(name), upstreams.url(name, b"/readyz"), timeout) for name in names
    ))
    return dict(zip(names, results, strict=True))
