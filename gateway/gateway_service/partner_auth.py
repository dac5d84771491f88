"""Authenticating the partner bank: signed headers, timestamp window, key, signature, nonce.

The checks run cheapest first, and nothing is written before the signature verifies, so a caller
without the secret cannot use up the bank's nonces. No database connection is held while a large
body arrives: the key is read in one short session, the nonce written in another.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from fastapi import Request

from gateway_service import partner_api, repository
from gateway_service.partners import key_context
from gateway_service.roles import MachineRole
from gateway_service.secretbox import SecretBox, SecretUnreadable
from svckit import partner_signing as signing
from svckit.db import Database
from svckit.errors import DomainError, Unauthorized
from svckit.internal_auth import mint_internal_token
from svckit.requestid import current_request_id
from svckit.scope import NO_SCOPE
from svckit.timeutil import utcnow

log = logging.getLogger("gateway.partner")

WWW_AUTHENTICATE = 'HMAC-SHA256 realm="partner-bank"'
_MAX_KEY_ID = 100


class PartnerUnauthorized(Unauthorized):
    """A partner request that does not authenticate; rendered with the header at fault (see api/partner_bank.py)."""

    def __init__(self, detail: str, *, code: str, header: str, **extra: object) -> None:
        super().__init__(detail, code=code, header=header, **extra)


class PartnerCredentialsUnreadable(DomainError):
    """The stored secret does not open: our master key changed or the row was altered. Our fault, not the bank's."""

    status, code, title = 500, "partner_credentials_unreadable", "Partner credentials unreadable"


@dataclass(frozen=True)
class SignedHeaders:
    key_id: str
    timestamp: str
    nonce: str
    signature: str


@dataclass(frozen=True)
class PartnerCredential:
    partner_id: uuid.UUID
    code: str
    key_id: str
    secret: str


def signed_headers(request: Request) -> SignedHeaders:
    """The four X-Partner-* headers, present once each and well-formed (the signature's form is checked by verify)."""
    values: dict[str, str] = {}
    for name in signing.HEADERS:
        found = [v.strip() for v in request.headers.getlist(name)]
        if not found or not found[0]:
            raise PartnerUnauthorized(f"the request is not signed: {name} is missing", code="partner_signature_missing",
                                      header=name)
        if len(found) > 1:
            raise PartnerUnauthorized(f"{name} is sent more than once", code="partner_header_malformed", header=name)
        values[name] = found[0]
    if not signing.TIMESTAMP_PATTERN.fullmatch(values[signing.TIMESTAMP_HEADER]):
        raise PartnerUnauthorized(f"{signing.TIMESTAMP_HEADER} must be unix seconds",
                                  code="partner_header_malformed", header=signing.TIMESTAMP_HEADER)
    if not signing.NONCE_PATTERN.fullmatch(values[signing.NONCE_HEADER]):
        raise PartnerUnauthorized(f"{signing.NONCE_HEADER} must be 16-64 characters of A-Z a-z 0-9 - _",
                                  code="partner_header_malformed", header=signing.NONCE_HEADER)
    return SignedHeaders(values[signing.KEY_HEADER], values[signing.TIMESTAMP_HEADER], values[signing.NONCE_HEADER],
                         values[signing.SIGNATURE_HEADER])


def check_window(signed: SignedHeaders, *, now: float, window: int) -> None:
    skew = signing.timestamp_skew(signed.timestamp, now)
    if skew is None or abs(skew) > window:
        raise PartnerUnauthorized(
            f"{signing.TIMESTAMP_HEADER} is more than {window} s from the gateway's clock; sign with the current time",
            code="partner_timestamp_out_of_window", header=signing.TIMESTAMP_HEADER, server_time=int(now),
        )


async def credential(db: Database, box: SecretBox, key_id: str) -> PartnerCredential:
    """The live key named by X-Partner-Key, with its secret. Unknown, revoked and inactive get one answer."""
    found = None
    if len(key_id) <= _MAX_KEY_ID:
        async with db.sessionmaker() as session:
            found = await repository.partner_key_with_partner(session, key_id)
    reason = ("unknown" if found is None else "revoked" if found[0].revoked_at is not None
              else "partner inactive" if not found[1].active else None)
    if found is None or reason is not None:
        log.warning("partner key refused: %s", reason, extra={"partner_key": key_id[:_MAX_KEY_ID]})
        raise PartnerUnauthorized(f"{signing.KEY_HEADER} does not name a key in force",
                                  code="partner_key_unknown", header=signing.KEY_HEADER)
    key, partner = found
    try:
        secret = box.open(key.secret_ciphertext, context=key_context(key.key_id))
    except SecretUnreadable as exc:
        log.error("partner key %s: %s", key.key_id, exc, extra={"partner": partner.code})
        raise PartnerCredentialsUnreadable("the partner's credentials cannot be read; we are looking into it") from None
    return PartnerCredential(partner.id, partner.code, key.key_id, secret)


def signed_path(request: Request) -> str:
    """The path as the client sent it (percent-encoding kept), which is what it signed."""
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):
        return raw.split(b"?", 1)[0].decode("latin-1")
    return quote(request.scope["path"])


def check_signature(request: Request, signed: SignedHeaders, partner: PartnerCredential, body_sha256: str) -> None:
    valid = signing.verify(
        secret=partner.secret, method=request.method, path=signed_path(request),
        query=request.scope.get("query_string", b""), timestamp=signed.timestamp, nonce=signed.nonce,
        body_hash=body_sha256, signature_hex=signed.signature,
    )
    if not valid:
        raise PartnerUnauthorized(
            f"{signing.SIGNATURE_HEADER} does not sign this request (method, path, query, timestamp, nonce, body)",
            code="partner_signature_invalid", header=signing.SIGNATURE_HEADER,
        )


async def claim_nonce(db: Database, partner: PartnerCredential, signed: SignedHeaders, *, window: int) -> None:
    """Record the nonce, committed before the call is forwarded; a nonce still remembered is a replay."""
    # A request with this timestamp passes the window until timestamp + window; remember the nonce that long.
    expires_at = datetime.fromtimestamp(int(signed.timestamp), UTC) + timedelta(seconds=window + 1)
    async with db.sessionmaker.begin() as session:
        fresh = await repository.record_nonce(session, partner.partner_id, signed.nonce, expires_at=expires_at,
                                              now=utcnow())
    if not fresh:
        log.warning("partner nonce replayed", extra={"partner": partner.code})
        raise PartnerUnauthorized(f"{signing.NONCE_HEADER} was already used; sign every request with a new nonce",
                                  code="partner_nonce_replayed", header=signing.NONCE_HEADER)


def internal_token(secret: str, partner: PartnerCredential) -> str:
    """What the ledger sees: the gateway calling for user "partner:<code>", role partner_bank, no data scope."""
    return mint_internal_token(
        secret, caller_service="gateway", audience=partner_api.SERVICE,
        user_id=partner_api.USER_ID_PREFIX + partner.code, username=partner.code,
        roles=frozenset({MachineRole.PARTNER_BANK.value}), request_id=current_request_id(), scope=NO_SCOPE,
    )


async def purge_nonces(db: Database) -> int:
    async with db.sessionmaker.begin() as session:
        return await repository.purge_nonces(session, utcnow())


async def purge_nonces_forever(db: Database, every_seconds: float) -> None:
    """The lifespan's background task: forget expired nonces now and then (a missed round only costs space)."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            purged = await purge_nonces(db)
        except Exception:  # logged; the next round tries again
            log.exception("purging partner nonces failed")
        else:
            if purged:
                log.info("purged %d expired partner nonces", purged)
