"""Login, token refresh, logout and the caller's own account."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from gateway_service import accounts, sessions
from gateway_service.deps import PrincipalDep
from gateway_service.ratelimit import RateLimited
from gateway_service.schemas import LoginRequest, RefreshRequest, TokenPairRead, UserRead
from gateway_service.state import gateway_of
from svckit.errors import Unauthorized, problem_response
from svckit.problems import problem_responses
from svckit.routing import SessionDep, TransactionalRoute
from svckit.storable import refuse_unstorable_values

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], route_class=TransactionalRoute,
                   dependencies=[Depends(refuse_unstorable_values)], responses=problem_responses(422))


def _read(pair: sessions.TokenPair) -> TokenPairRead:
    return TokenPairRead(access_token=pair.access_token, expires_in=pair.expires_in,
                         refresh_token=pair.refresh_token, refresh_expires_in=pair.refresh_expires_in)


@router.post("/login", response_model=TokenPairRead, responses=problem_responses(401, 429))
async def login(body: LoginRequest, request: Request, session: SessionDep) -> TokenPairRead:
    """Log in with username and password: a short-lived access token and a single-use refresh token.
    After repeated failures a username is refused with 429 for the `Retry-After` seconds."""
    state, username = gateway_of(request), accounts.normalize_username(body.username)
    wait = state.login_failures.wait(username)
    if wait is not None:
        raise RateLimited("too many failed logins for this username; retry later", retry_after=wait)
    try:
        pair = await sessions.login(session, state.policy, body.username, body.password)
    except Unauthorized:
        state.login_failures.take(username)
        raise
    return _read(pair)


@router.post("/refresh", response_model=TokenPairRead, responses=problem_responses(401))
async def refresh(body: RefreshRequest, request: Request, session: SessionDep) -> Response | TokenPairRead:
    """Trade the refresh token for a new pair; reusing an old refresh token ends the whole session."""
    try:
        pair = await sessions.rotate(session, gateway_of(request).policy, body.refresh_token)
    except sessions.RefreshTokenReused as exc:
        # This process stops answering for the session from memory at once; the others hear of it
        # from the database once the revocation commits.
        gateway_of(request).principals.forget_user(exc.user_id)
        # Answered here rather than raised: a raised error would roll back the revocation we must keep.
        return problem_response(status=exc.status, code=exc.code, title=exc.title, detail=exc.detail,
                                instance=request.url.path, headers={"WWW-Authenticate": "Bearer"})
    return _read(pair)


@router.post("/logout", status_code=204, responses=problem_responses(401))
async def logout(principal: PrincipalDep, session: SessionDep, request: Request) -> Response:
    """End the current session: its access and refresh tokens stop working at once."""
    await sessions.logout(session, principal)
    gateway_of(request).principals.forget_user(principal.user_id)  # the other processes hear it at commit
    return Response(status_code=204)


@router.get("/me", response_model=UserRead, responses=problem_responses(401))
async def me(principal: PrincipalDep, session: SessionDep) -> UserRead:
    """The logged-in user's account and roles."""
    return UserRead.model_validate(await accounts.get_user(session, principal.user_id))
