"""`/api/v1/<service>/…`: every call to a service goes through here, authenticated."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from gateway_service.deps import PrincipalDep
from gateway_service.proxy import PROXY_METHODS, forward
from gateway_service.state import gateway_of
from svckit.kit import kit_of

router = APIRouter()


# Hidden from the gateway's own schema: the merged document lists each service's real paths instead.
@router.api_route("/api/v1/{service}/{path:path}", methods=PROXY_METHODS, include_in_schema=False)
async def proxy(service: str, path: str, request: Request, principal: PrincipalDep) -> Response:
    """Forward the call to the named service on behalf of the logged-in user."""
    state = gateway_of(request)
    return await forward(
        request, upstreams=state.upstreams, service=service, path=path, principal=principal,
        internal_secret=kit_of(request).internal_secret, total_timeout=state.settings.upstream_timeout,
    )
