"""User accounts: who may log in, with which roles. Plain functions over a session; no HTTP here."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service import passwords, repository
from gateway_service.models import User
from gateway_service.roles import Role
from svckit.errors import Conflict, NotFound, Unprocessable
from svckit.timeutil import utcnow


@dataclass(frozen=True)
class Principal:
    """The person behind an authenticated request, as the database says now (not as the token said)."""

    user_id: uuid.UUID
    username: str
    roles: frozenset[str]
    session_id: uuid.UUID
    institution_ids: frozenset[int] = frozenset()

    def has_role(self, role: Role) -> bool:
        return role.value in self.roles


def normalize_username(username: str) -> str:
    return username.strip().lower()


def role_list(roles: Iterable[Role | str]) -> list[str]:
    """Stored form of a set of roles: known names only, unique, sorted."""
    return sorted({Role(r).value for r in roles})


def check_password_policy(password: str, field: str = "password") -> None:
    if not passwords.MIN_LENGTH <= len(password) <= passwords.MAX_LENGTH:
        raise Unprocessable(
            f"password must be {passwords.MIN_LENGTH}..{passwords.MAX_LENGTH} characters",
            code="weak_password", field=field,
        )


async def create_user(
    session: AsyncSession, *, username: str, password: str, roles: Iterable[Role | str],
    institution_ids: Iterable[int] = (),
) -> User:
    name = normalize_username(username)
    check_password_policy(password)
    if await repository.user_by_username(session, name) is not None:
        raise Conflict(f"username {name!r} is taken", code="username_taken", field="username")
    try:
        return await repository.add_user(
            session, username=name, password_hash=await passwords.hash_password(password), roles=role_list(roles),
            institution_ids=sorted(set(institution_ids)),
        )
    except IntegrityError:  # a concurrent request took the name between our check and our insert
        raise Conflict(f"username {name!r} is taken", code="username_taken", field="username") from None


async def update_user(
    session: AsyncSession, actor: Principal, user_id: uuid.UUID, *, roles: Iterable[Role] | None = None,
    active: bool | None = None, password: str | None = None, institution_ids: Iterable[int] | None = None,
) -> User:
    """Change roles, activity or password; deactivation and password resets end every session of the user."""
    user = await repository.user_by_id(session, user_id, for_update=True)
    if user is None:
        raise NotFound("no such user", code="user_not_found")
    new_roles = role_list(roles) if roles is not None else user.roles
    # An administrator cannot lock themself out; so at least the acting administrator always remains.
    if user.id == actor.user_id and (active is False or Role.ADMIN.value not in new_roles):
        raise Conflict("you cannot deactivate yourself or remove your own admin role", code="self_lockout")
    now = utcnow()
    if roles is not None:
        user.roles = new_roles
    if institution_ids is not None:
        user.institution_ids = sorted(set(institution_ids))
    if password is not None:
        check_password_policy(password)
        user.password_hash = await passwords.hash_password(password)
        await repository.revoke_user_sessions(session, user.id, reason="password_reset", now=now)
    if active is not None:
        if user.active and not active:
            await repository.revoke_user_sessions(session, user.id, reason="user_deactivated", now=now)
        user.active = active
    user.updated_at = now
    await session.flush()
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await repository.user_by_id(session, user_id)
    if user is None:
        raise NotFound("no such user", code="user_not_found")
    return user
