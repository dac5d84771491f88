"""Login sessions: login, refresh-token rotation with theft detection, logout, and who a token names.

A session is one login and the family of refresh tokens it hands out. Every refresh token is
single-use; presenting one that was already used means two parties hold the family, so the
whole session is revoked and every access token carrying its id stops working.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from gateway_service import passwords, repository, tokens
from gateway_service.accounts import Principal, normalize_username
from gateway_service.models import AuthSession, RefreshToken, User
from svckit.errors import Unauthorized
from svckit.timeutil import utcnow


class RefreshTokenReused(Unauthorized):
    """Raised after the session was revoked; the caller must still commit that revocation."""

    code = "refresh_token_reused"

    def __init__(self, detail: str, *, user_id: uuid.UUID) -> None:
        super().__init__(detail)
        self.user_id = user_id


@dataclass(frozen=True)
class TokenPolicy:
    secret: str
    access_ttl: timedelta
    refresh_ttl: timedelta


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int


def _invalid_credentials() -> Unauthorized:
    # One answer for unknown user, wrong password and inactive account: nothing to enumerate.
    return Unauthorized("username or password is wrong", code="invalid_credentials")


async def _issue(session: AsyncSession, policy: TokenPolicy, user: User, auth_session: AuthSession,
                 now: datetime) -> tuple[TokenPair, RefreshToken]:
    refresh = tokens.new_refresh_token()
    row = await repository.add_refresh_token(
        session, session_id=auth_session.id, token_hash=tokens.refresh_token_hash(refresh),
        expires_at=now + policy.refresh_ttl,
    )
    access = tokens.mint_access_token(
        policy.secret, user_id=user.id, session_id=auth_session.id, username=user.username, roles=user.roles,
        now=now, ttl=policy.access_ttl,
    )
    pair = TokenPair(access, refresh, int(policy.access_ttl.total_seconds()),
                     int(policy.refresh_ttl.total_seconds()))
    return pair, row


async def login(session: AsyncSession, policy: TokenPolicy, username: str, password: str) -> TokenPair:
    user = await repository.user_by_username(session, normalize_username(username))
    # Verify even when the user is unknown, so timing does not reveal which usernames exist.
    matches = await passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not matches or not user.active:
        raise _invalid_credentials()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash_password(password)
    auth_session = await repository.add_session(session, user.id)
    pair, _ = await _issue(session, policy, user, auth_session, utcnow())
    return pair


async def rotate(session: AsyncSession, policy: TokenPolicy, refresh_token: str) -> TokenPair:
    """Trade a refresh token for a new pair; the old one can never be used again."""
    found = await repository.refresh_token_for_update(session, tokens.refresh_token_hash(refresh_token))
    if found is None:
        raise Unauthorized("refresh token is not valid", code="invalid_refresh_token")
    token, auth_session, user = found
    now = utcnow()
    if auth_session.revoked_at is not None or not user.active:
        raise Unauthorized("this session has ended; log in again", code="session_revoked")
    if token.used_at is not None:
        await repository.revoke_session(session, auth_session.id, reason="refresh_token_reuse", now=now)
        raise RefreshTokenReused("refresh token was already used; the session is revoked, log in again",
                                 user_id=user.id)
    if token.expires_at <= now:
        raise Unauthorized("refresh token expired; log in again", code="refresh_token_expired")
    pair, replacement = await _issue(session, policy, user, auth_session, now)
    token.used_at, token.replaced_by = now, replacement.id
    await session.flush()
    return pair


async def logout(session: AsyncSession, principal: Principal) -> None:
    await repository.revoke_session(session, principal.session_id, reason="logout", now=utcnow())


async def principal_for(session: AsyncSession | AsyncConnection, claims: tokens.AccessClaims) -> Principal:
    """Turn verified token claims into a principal, refusing revoked sessions and inactive users."""
    found = await repository.session_with_user(session, claims.session_id, claims.user_id)
    if found is None:
        raise Unauthorized("access token is invalid", code="invalid_token")
    if found.revoked_at is not None:
        raise Unauthorized("this session has ended; log in again", code="session_revoked")
    if not found.active:
        raise Unauthorized("this account is deactivated", code="account_inactive")
    # Roles come from the database, so a change takes effect on the next request, not at token expiry.
    return Principal(claims.user_id, found.username, frozenset(found.roles), claims.session_id,
                     frozenset(found.institution_ids or ()))
