"""Dependencies of the gateway's routes: who is calling, and whether they are an administrator."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service import sessions
from gateway_service.accounts import Principal
from gateway_service.roles import Role
from gateway_service.state import gateway_of
from svckit.errors import Forbidden, Unauthorized
from svckit.kit import kit_of

bearer = HTTPBearer(
    scheme_name="bearerAuth", bearerFormat="JWT", auto_error=False,
    description="Access token from POST /api/v1/auth/login, sent as `Authorization: Bearer <token>`",
)


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """A valid access token of a live session of an active user; anything else is 401."""
    return await principal_of(request, credentials.credentials if credentials is not None else None)


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, as `bearer` reads it (for routes
    that do without FastAPI's dependencies)."""
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    return token if scheme.lower() == "bearer" and token else None


async def principal_of(request: Request, token: str | None) -> Principal:
    if token is None:
        raise Unauthorized("log in and send the access token as a Bearer token", code="not_authenticated")
    state = gateway_of(request)
    claims = state.verified.claims(token)
    session = getattr(request.state, "session", None)
    if isinstance(session, AsyncSession):  # inside a transactional route: reuse its session
        return await sessions.principal_for(session, claims)
    # Proxied calls: from memory while the database has announced no change to the user.
    known = state.principals.get(claims.session_id, claims.user_id)
    if known is not None:
        return known
    generation = state.principals.generation
    # Otherwise one read outside any transaction (no BEGIN, no ROLLBACK); the connection goes back to
    # the pool before the call is forwarded.
    async with kit_of(request).db.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        principal = await sessions.principal_for(autocommit, claims)
    state.principals.remember(principal, generation)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def require_admin(principal: PrincipalDep) -> Principal:
    if not principal.has_role(Role.ADMIN):
        raise Forbidden("requires the admin role", code="role_required")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]
