"""`/api/v1/<service>/…`: every call to a service goes through here, authenticated.

The route of each service is a plain Starlette route, matched before any other: it is the path
of nearly every call, and FastAPI's dependency solving and route search cost as much as the rest
of the forwarding. It authenticates with the same function as the `PrincipalDep` routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence

from fastapi import APIRouter, Request, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from gateway_service import partner_api
from gateway_service.deps import bearer_token, principal_of
from gateway_service.proxy import PROXY_METHODS, forward
from gateway_service.state import gateway_of
from svckit.errors import NotFound
from svckit.kit import kit_of
from svckit.metrics import name_route

# First path segments under /api/v1/ that the gateway serves itself.
OWN_PREFIXES = frozenset({"auth", "home", "partner"})


def _forwarder(service: str, template: str) -> Callable[[Request], Awaitable[Response]]:
    async def forward_to_service(request: Request) -> Response:
        """Forward the call to the service on behalf of the logged-in user."""
        name_route(request.scope, template)
        path: str = request.path_params["path"]
        principal = await principal_of(request, bearer_token(request))
        if partner_api.is_partner_path(service, path):  # the bank's API is for the bank only
            raise NotFound("no such path", code="not_found")
        state, secret = gateway_of(request), kit_of(request).internal_secret
        scope = await state.scopes.scope_of(principal, state.upstreams, secret, state.settings.probe_timeout)
        return await forward(
            request, upstreams=state.upstreams, service=service, path=path, principal=principal, scope=scope,
            internal_secret=secret, total_timeout=state.settings.upstream_timeout,
        )

    return forward_to_service


def _unserved(own: Sequence[APIRouter]) -> Callable[[str, Request], Awaitable[Response]]:
    async def no_such_service(service: str, request: Request) -> Response:
        """Whatever under /api/v1/ no route serves: a wrong method, an unknown gateway path or service."""
        allowed = {method for router in own for route in router.routes
                   if route.matches(request.scope)[0] is Match.PARTIAL for method in getattr(route, "methods", ())}
        if allowed:
            raise HTTPException(405, "Method not allowed", headers={"Allow": ", ".join(sorted(allowed))})
        if service in OWN_PREFIXES:
            raise NotFound("no such path", code="not_found")
        raise NotFound(f"no service named {service!r}", code="unknown_service", service=service)

    return no_such_service


def proxy_router(services: Iterable[str]) -> APIRouter:
    """One authenticated route per service (include it first; no service is named like a path of the
    gateway's own, `OWN_PREFIXES`).

    Hidden from the gateway's own schema: the merged document lists each service's real paths instead.
    """
    router = APIRouter()
    for service in services:
        if service in OWN_PREFIXES:
            raise ValueError(f"a service may not be named {service!r}: the gateway serves that path itself")
        template = f"/api/v1/{service}/{{path:path}}"
        router.add_route(template, _forwarder(service, template), methods=PROXY_METHODS, include_in_schema=False,
                         name=f"proxy_{service}")
    return router


def unserved_router(own: Sequence[APIRouter]) -> APIRouter:
    """The answer for everything else under /api/v1/ (include it last; `own` are the gateway's routers
    there, consulted to tell a wrong method from a wrong path)."""
    router = APIRouter()
    router.add_api_route("/api/v1/{service}/{path:path}", _unserved(own), methods=PROXY_METHODS,
                         include_in_schema=False)
    return router
