"""Partners and their signing keys: create, issue (the secret is seen once), revoke, deactivate.
Plain functions over a session; no HTTP here."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from gateway_service import repository
from gateway_service.accounts import Principal
from gateway_service.models import Partner, PartnerKey
from gateway_service.secretbox import SecretBox
from svckit.db import flush_or_refuse
from svckit.errors import Conflict, NotFound
from svckit.timeutil import utcnow

KEY_ID_PREFIX = "pk_"


@dataclass(frozen=True)
class PartnerWithKeys:
    partner: Partner
    keys: list[PartnerKey]


@dataclass(frozen=True)
class IssuedKey:
    key: PartnerKey
    secret: str  # returned to the administrator once; only its encryption is stored


def new_key_id() -> str:
    return KEY_ID_PREFIX + secrets.token_hex(12)


def new_secret() -> str:
    """256 random bits, url-safe text; the bank uses its UTF-8 bytes as the HMAC key."""
    return secrets.token_urlsafe(32)


def key_context(key_id: str) -> str:
    """What a sealed secret is bound to: it opens only as the secret of this key id."""
    return f"partner_key:{key_id}"


async def _partner(session: AsyncSession, code: str, *, for_update: bool = False) -> Partner:
    partner = await repository.partner_by_code(session, code.lower(), for_update=for_update)
    if partner is None:
        raise NotFound("no such partner", code="partner_not_found")
    return partner


async def create_partner(session: AsyncSession, *, code: str, name: str, kind: str) -> Partner:
    code = code.lower()
    if await repository.partner_by_code(session, code) is not None:
        raise Conflict(f"partner code {code!r} is taken", code="partner_code_taken", field="code")
    partner = Partner(code=code, name=name, kind=kind, active=True)
    session.add(partner)
    # A concurrent request may take the code between our check and our insert.
    await flush_or_refuse(session, Conflict(f"partner code {code!r} is taken", code="partner_code_taken",
                                            field="code"))
    await session.refresh(partner)
    return partner


async def get_partner(session: AsyncSession, code: str) -> PartnerWithKeys:
    partner = await _partner(session, code)
    return PartnerWithKeys(partner, await repository.keys_of_partners(session, [partner.id]))


async def list_partners(session: AsyncSession) -> list[PartnerWithKeys]:
    partners = await repository.list_partners(session)
    keys = await repository.keys_of_partners(session, [p.id for p in partners])
    return [PartnerWithKeys(p, [k for k in keys if k.partner_id == p.id]) for p in partners]


async def update_partner(session: AsyncSession, code: str, *, name: str | None, active: bool | None) -> PartnerWithKeys:
    """Rename, deactivate or reactivate; an inactive partner's keys are refused from the next request."""
    partner = await _partner(session, code, for_update=True)
    if name is not None:
        partner.name = name
    if active is not None:
        partner.active = active
    partner.updated_at = utcnow()
    await session.flush()
    return PartnerWithKeys(partner, await repository.keys_of_partners(session, [partner.id]))


async def issue_key(session: AsyncSession, box: SecretBox, actor: Principal, code: str) -> IssuedKey:
    partner = await _partner(session, code)
    key_id, secret = new_key_id(), new_secret()
    key = await repository.add_partner_key(
        session, partner_id=partner.id, key_id=key_id, secret_ciphertext=box.seal(secret, context=key_context(key_id)),
        created_by=actor.user_id,
    )
    return IssuedKey(key, secret)


async def revoke_key(session: AsyncSession, actor: Principal, code: str, key_id: str) -> PartnerKey:
    """Revoke a key; requests signed with it are refused from the next one. Revoking twice keeps the first time."""
    partner = await _partner(session, code)
    key = await repository.partner_key_for_update(session, partner.id, key_id)
    if key is None:
        raise NotFound("no such key for this partner", code="partner_key_not_found")
    if key.revoked_at is None:
        key.revoked_at, key.revoked_by = utcnow(), actor.user_id
        await session.flush()
    return key
