"""Access tokens (signed JWTs for people) and refresh tokens (opaque, stored only as SHA-256)."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from svckit.errors import Unauthorized

ALGORITHM = "HS256"
ISSUER = "salesteam-gateway"
AUDIENCE = "salesteam-api"
LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says; the session and user are still checked against the database."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    username: str
    roles: tuple[str, ...]
    expires_at: float  # POSIX seconds


def mint_access_token(
    secret: str, *, user_id: uuid.UUID, session_id: uuid.UUID, username: str, roles: list[str],
    now: datetime, ttl: timedelta,
) -> str:
    claims: dict[str, Any] = {
        "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex,
        "sub": str(user_id), "sid": str(session_id), "roles": sorted(roles), "name": username,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_access_token(secret: str, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER, leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "jti", "sub", "sid"]},
        )
        return AccessClaims(
            user_id=uuid.UUID(str(claims["sub"])), session_id=uuid.UUID(str(claims["sid"])),
            username=str(claims.get("name", "")), roles=tuple(claims.get("roles") or ()),
            expires_at=float(claims["exp"]),
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("access token expired; refresh it", code="token_expired") from None
    except (jwt.PyJWTError, ValueError):
        raise Unauthorized("access token is invalid", code="invalid_token") from None


class VerifiedTokens:
    """Access tokens whose signature was already checked, with what they say. A client sends the
    same token with every call until it expires; its signature would only verify the same again.
    Expiry is checked on every use, exactly as `verify_access_token` checks it."""

    def __init__(self, secret: str, max_entries: int = 20_000) -> None:
        self.secret, self.max_entries = secret, max_entries
        self._known: OrderedDict[str, AccessClaims] = OrderedDict()

    def claims(self, token: str) -> AccessClaims:
        known = self._known.get(token)
        if known is None:
            known = verify_access_token(self.secret, token)  # raises for a bad or expired token
            self._known[token] = known
            while len(self._known) > self.max_entries:
                self._known.popitem(last=False)
        elif time.time() >= known.expires_at + LEEWAY_SECONDS:
            del self._known[token]
            raise Unauthorized("access token expired; refresh it", code="token_expired")
        return known


def new_refresh_token() -> str:
    """256 random bits; the client keeps the token, we keep only `refresh_token_hash` of it."""
    return secrets.token_urlsafe(32)


def refresh_token_hash(token: str) -> bytes:
    # A plain SHA-256 is enough: the token is high-entropy random, not a guessable password.
    return hashlib.sha256(token.encode()).digest()
