"""Every query of the gateway. Only flushes; the request's route (or the bootstrap) commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service.models import AuthSession, RefreshToken, User
from gateway_service.roles import Role
from svckit.pagination import PageParams, keyset, page_of


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()


async def user_by_id(session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
    stmt = select(User).where(User.id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def add_user(
    session: AsyncSession, *, username: str, password_hash: str, roles: list[str], institution_ids: list[int],
) -> User:
    user = User(username=username, password_hash=password_hash, roles=roles, active=True,
                institution_ids=institution_ids)
    session.add(user)
    await session.flush()
    await session.refresh(user)  # load server defaults (timestamps) without lazy loading later
    return user


async def list_users(session: AsyncSession, params: PageParams) -> tuple[list[User], str | None]:
    rows = (await session.execute(keyset(select(User), [User.username.expression], params))).scalars().all()
    return page_of(rows, params, lambda user: (user.username,))


async def active_admin_exists(session: AsyncSession) -> bool:
    stmt = select(User.id).where(User.active, User.roles.any_() == Role.ADMIN.value).limit(1)
    return (await session.execute(stmt)).first() is not None


async def add_session(session: AsyncSession, user_id: uuid.UUID) -> AuthSession:
    auth_session = AuthSession(user_id=user_id)
    session.add(auth_session)
    await session.flush()
    return auth_session


async def session_with_user(
    session: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID
) -> Row[AuthSession, User] | None:
    """The login session named by an access token, with its user (one query per authenticated request)."""
    stmt = (
        select(AuthSession, User).join(User, User.id == AuthSession.user_id)
        .where(AuthSession.id == session_id, AuthSession.user_id == user_id)
    )
    return (await session.execute(stmt)).first()


async def revoke_session(session: AsyncSession, session_id: uuid.UUID, *, reason: str, now: datetime) -> None:
    await session.execute(
        update(AuthSession).where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


async def revoke_user_sessions(session: AsyncSession, user_id: uuid.UUID, *, reason: str, now: datetime) -> None:
    await session.execute(
        update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


async def add_refresh_token(
    session: AsyncSession, *, session_id: uuid.UUID, token_hash: bytes, expires_at: datetime
) -> RefreshToken:
    token = RefreshToken(session_id=session_id, token_hash=token_hash, expires_at=expires_at)
    session.add(token)
    await session.flush()
    return token


async def refresh_token_for_update(
    session: AsyncSession, token_hash: bytes
) -> Row[RefreshToken, AuthSession, User] | None:
    """The presented refresh token with its session and user, locked so two refreshes cannot both win."""
    stmt = (
        select(RefreshToken, AuthSession, User)
        .join(AuthSession, AuthSession.id == RefreshToken.session_id)
        .join(User, User.id == AuthSession.user_id)
        .where(RefreshToken.token_hash == token_hash)
        .with_for_update(of=RefreshToken)
    )
    return (await session.execute(stmt)).first()
