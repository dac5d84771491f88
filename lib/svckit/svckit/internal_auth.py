"""Short-lived signed internal tokens: which service calls, for which end user, with which roles.

The gateway mints one per forwarded request; services reject any call without a valid one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from svckit.errors import Forbidden, Unauthorized
from svckit.scope import NO_SCOPE, SYSTEM_SCOPE, DataScope
from svckit.timeutil import utcnow

ALGORITHM = "HS256"
ISSUER_PREFIX = "svc:"
DEFAULT_TTL = timedelta(seconds=60)
LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class Caller:
    """Who is calling: the calling service and, when a person is behind it, that person."""

    service: str
    user_id: str | None = None
    username: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    request_id: str | None = None
    # Institutions a staff user is assigned to (from their account), and what they may see.
    institutions: frozenset[int] = field(default_factory=frozenset)
    scope: DataScope = NO_SCOPE

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def data_scope(self) -> DataScope:
        """A service calling on its own (no end user) acts for the system and sees everything;
        an end user sees what their signed scope says, and nothing without one."""
        return SYSTEM_SCOPE if self.user_id is None and self.service != "gateway" else self.scope


def mint_internal_token(
    secret: str, *, caller_service: str, audience: str, user_id: str | None = None,
    username: str | None = None, roles: frozenset[str] | set[str] = frozenset(), request_id: str | None = None,
    ttl: timedelta = DEFAULT_TTL, institutions: frozenset[int] | set[int] = frozenset(), scope: DataScope | None = None,
) -> str:
    now = utcnow()
    claims: dict[str, Any] = {
        "iss": ISSUER_PREFIX + caller_service,
        "aud": audience,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        "roles": sorted(roles),
    }
    if user_id is not None:
        claims["sub"] = user_id
    if username is not None:
        claims["name"] = username
    if request_id is not None:
        claims["rid"] = request_id
    if institutions:
        claims["inst"] = sorted(institutions)
    if scope is not None:
        claims["scope"] = scope.to_claim()
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_internal_token(secret: str, token: str, *, audience: str) -> Caller:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], audience=audience, leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("internal token expired", code="internal_token_expired") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized("internal token is for another service", code="internal_token_audience") from None
    except jwt.PyJWTError:
        raise Unauthorized("internal token missing or invalid", code="internal_token_invalid") from None
    issuer = str(claims["iss"])
    if not issuer.startswith(ISSUER_PREFIX):
        raise Unauthorized("internal token has an unknown issuer", code="internal_token_invalid")
    return Caller(
        service=issuer.removeprefix(ISSUER_PREFIX),
        user_id=claims.get("sub"),
        username=claims.get("name"),
        roles=frozenset(claims.get("roles") or ()),
        request_id=claims.get("rid"),
        institutions=frozenset(i for i in claims.get("inst") or () if isinstance(i, int)),
        scope=DataScope.from_claim(claims.get("scope")),
    )


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def require_caller(request: Request) -> Caller:
    """Router-level dependency: a service endpoint cannot be reached without a valid internal token."""
    cached = getattr(request.state, "caller", None)
    if isinstance(cached, Caller):
        return cached
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("this service is only reachable with an internal token", code="internal_token_missing")
    kit = request.app.state.kit
    caller = verify_internal_token(kit.internal_secret, token, audience=kit.service)
    request.state.caller = caller
    return caller


CallerDep = Annotated[Caller, Depends(require_caller)]


def _require_role(caller: Caller, roles: tuple[str, ...]) -> None:
    if not caller.has_role(*roles):
        raise Forbidden(f"requires one of the roles: {', '.join(roles)}", code="role_required")


def require_roles(*roles: str) -> Any:
    """Dependency factory: the caller's end user must hold one of `roles`."""

    async def check(caller: CallerDep) -> Caller:
        _require_role(caller, roles)
        return caller

    return Depends(check)


def require_head_office(*roles: str) -> Any:
    """Dependency factory for changes that apply to the whole company (its rules, calendar, chart of
    accounts, settlement runs): the caller's end user must hold one of `roles` and a company-wide
    scope (an administrator, or staff of the head office). A service acting for the system passes
    the scope check (its scope is everything) but still needs the role."""

    async def check(caller: CallerDep) -> Caller:
        _require_role(caller, roles)
        if not caller.data_scope.company_wide:
            raise Forbidden("this change applies to the whole company: it needs a head-office user or an "
                            "administrator", code="head_office_only")
        return caller

    return Depends(check)
