"""Health of the whole stack, the merged OpenAPI document and the interactive docs."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from gateway_service.health import services_readiness
from gateway_service.openapi import merged_document
from gateway_service.state import gateway_of
from svckit.health import readiness
from svckit.kit import kit_of
from svckit.problems import with_problem_media_type

router = APIRouter(tags=["health"])


@router.get("/livez")
async def livez() -> dict[str, str]:
    """The gateway process is up (for liveness probes: says nothing about the services)."""
    return {"status": "ok", "service": "gateway"}


@router.get("/readyz", responses={503: {"description": "Not ready: the same body, with `status` saying why"}})
async def readyz(request: Request) -> JSONResponse:
    """The gateway can serve: its database answers and its schema is at migration head."""
    kit = kit_of(request)
    body = {"service": "gateway", **await readiness(kit.db, kit.alembic_ini)}
    return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)


@router.get("/healthz", responses={503: {"description": "Degraded: the same body, naming what is not ready"}})
async def healthz(request: Request) -> JSONResponse:
    """The gateway and every service behind it: readiness and migration state of each; 503 if any is not ready."""
    kit, state = kit_of(request), gateway_of(request)
    own, services = await asyncio.gather(
        readiness(kit.db, kit.alembic_ini), services_readiness(state.upstreams, state.settings.probe_timeout),
    )
    healthy = own["status"] == "ready" and all(s["status"] == "ready" for s in services.values())
    body: dict[str, Any] = {"status": "ok" if healthy else "degraded", "gateway": own, "services": services}
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/openapi.json", include_in_schema=False)
async def openapi_document(request: Request) -> JSONResponse:
    """One OpenAPI document for the gateway and every service behind it."""
    state = gateway_of(request)

    async def build() -> dict[str, Any]:
        own = with_problem_media_type(request.app.openapi())
        secret = kit_of(request).internal_secret
        return await merged_document(own, state.upstreams, state.settings.probe_timeout, secret)

    return JSONResponse(await state.openapi.get(build))


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    """Swagger UI over the merged document."""
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Sales-team API",
                               swagger_ui_parameters={"persistAuthorization": True})
