"""`GET /v1/caller`: what a service sees of who is calling. Proves the gateway forwards identity."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from svckit.internal_auth import CallerDep
from svckit.kit import kit_of
from svckit.routing import service_router


class CallerRead(BaseModel):
    service: str = Field(description="The service answering")
    caller_service: str = Field(description="The service that called it (the gateway for end users)")
    user_id: str | None
    username: str | None
    roles: list[str]
    request_id: str | None


def identity_router() -> APIRouter:
    router = service_router(prefix="/v1", tags=["identity"])

    @router.get("/caller", response_model=CallerRead)
    async def read_caller(request: Request, caller: CallerDep) -> CallerRead:
        """Who this service sees behind the request: calling service, end user and roles."""
        return CallerRead(
            service=kit_of(request).service, caller_service=caller.service, user_id=caller.user_id,
            username=caller.username, roles=sorted(caller.roles), request_id=caller.request_id,
        )

    return router
