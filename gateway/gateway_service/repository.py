"""Every query of the gateway. Only flushes; the request's route (or the bootstrap) commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Row, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from gateway_service.models import AuthSession, Partner, PartnerKey, PartnerNonce, RefreshToken, User
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
    session: AsyncSession | AsyncConnection, session_id: uuid.UUID, user_id: uuid.UUID
) -> Row[datetime | None, str, list[str], bool, list[int]] | None:
    """What an authenticated request needs of the login session named by its access token and of its
    user: plain columns, one query (no ORM objects built on the path of every request)."""
    stmt = (
        select(AuthSession.revoked_at, User.username, User.roles, User.active, User.institution_ids)
        .join(User, User.id == AuthSession.user_id)
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


# Partners -----------------------------------------------------------------------------------------


async def partner_by_code(session: AsyncSession, code: str, *, for_update: bool = False) -> Partner | None:
    stmt = select(Partner).where(Partner.code == code)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_partners(session: AsyncSession) -> list[Partner]:
    return list((await session.execute(select(Partner).order_by(Partner.code))).scalars().all())


async def keys_of_partners(session: AsyncSession, partner_ids: list[uuid.UUID]) -> list[PartnerKey]:
    stmt = (select(PartnerKey).where(PartnerKey.partner_id.in_(partner_ids))
            .order_by(PartnerKey.created_at, PartnerKey.key_id))
    return list((await session.execute(stmt)).scalars().all())


async def add_partner_key(
    session: AsyncSession, *, partner_id: uuid.UUID, key_id: str, secret_ciphertext: bytes,
    created_by: uuid.UUID | None,
) -> PartnerKey:
    key = PartnerKey(partner_id=partner_id, key_id=key_id, secret_ciphertext=secret_ciphertext,
                     created_by=created_by)
    session.add(key)
    await session.flush()
    await session.refresh(key)
    return key


async def partner_key_for_update(session: AsyncSession, partner_id: uuid.UUID, key_id: str) -> PartnerKey | None:
    stmt = (select(PartnerKey).where(PartnerKey.partner_id == partner_id, PartnerKey.key_id == key_id)
            .with_for_update())
    return (await session.execute(stmt)).scalar_one_or_none()


async def partner_key_with_partner(session: AsyncSession, key_id: str) -> Row[PartnerKey, Partner] | None:
    """The key named in X-Partner-Key with its partner (one query per partner request)."""
    stmt = select(PartnerKey, Partner).join(Partner, Partner.id == PartnerKey.partner_id).where(
        PartnerKey.key_id == key_id)
    return (await session.execute(stmt)).first()


async def record_nonce(session: AsyncSession, partner_id: uuid.UUID, nonce: str, *, expires_at: datetime,
                       now: datetime) -> bool:
    """Remember a partner's nonce; False when it is already remembered and not yet expired.

    One statement, so two identical requests at once cannot both pass: the primary key makes the
    second wait for the first and then find the row. An expired row (not yet purged) is taken over.
    """
    stmt = (
        insert(PartnerNonce).values(partner_id=partner_id, nonce=nonce, expires_at=expires_at)
        .on_conflict_do_update(index_elements=[PartnerNonce.partner_id, PartnerNonce.nonce],
                               set_={"expires_at": expires_at}, where=PartnerNonce.expires_at <= now)
        .returning(PartnerNonce.nonce)
    )
    return (await session.execute(stmt)).first() is not None


async def purge_nonces(session: AsyncSession, now: datetime) -> int:
    """Forget nonces whose requests can no longer pass the timestamp window."""
    result = await session.execute(delete(PartnerNonce).where(PartnerNonce.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
