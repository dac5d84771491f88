"""Liveness and readiness. Readiness checks the database and that migrations are at head."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from svckit.db import Database
from svckit.kit import kit_of
from svckit.migrations import current_revisions, head_revisions


async def readiness(db: Database, alembic_ini: Path) -> dict[str, Any]:
    """Whether the database answers and the schema is at migration head (status "ready")."""
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


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz(request: Request) -> dict[str, str]:
        """The process is up."""
        return {"status": "ok", "service": kit_of(request).service}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """Ready to serve: the database answers and this service's schema is at migration head."""
        kit = kit_of(request)
        body = {"service": kit.service, "schema": kit.schema, **await readiness(kit.db, kit.alembic_ini)}
        return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)

    return router
