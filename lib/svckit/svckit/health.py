"""Liveness and readiness. Readiness checks the database and that migrations are at head."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from svckit.kit import kit_of
from svckit.migrations import current_revisions, head_revisions


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
        body: dict[str, Any] = {"service": kit.service, "schema": kit.schema}
        heads = head_revisions(kit.alembic_ini)
        try:
            async with kit.db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                current = await current_revisions(connection, kit.schema)
        except Exception as exc:  # the database is unreachable or refuses us: not ready
            body.update(status="unavailable", database="unreachable", error=type(exc).__name__)
            return JSONResponse(body, status_code=503)
        at_head = current == heads
        body.update(
            status="ready" if at_head else "migrations_pending", database="ok",
            migration={"current": sorted(current), "head": sorted(heads), "at_head": at_head},
        )
        return JSONResponse(body, status_code=200 if at_head else 503)

    return router
