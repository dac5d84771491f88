"""HMAC-SHA256 request signatures of the partner bank, written once: the gateway verifies with
`verify`, a bank client signs with `sign`. Pure functions: no I/O, no clock unless asked for.

The signed (canonical) string is six lines joined by "\\n":

    METHOD            upper-case, e.g. POST
    path              exactly as sent on the request line, percent-encoding kept, no host, no query
    canonical query   see `canonical_query`; empty when there is none
    timestamp         unix seconds, decimal, as sent in X-Partner-Timestamp
    nonce             as sent in X-Partner-Nonce: 16-64 of A-Z a-z 0-9 - _
    body SHA-256      lower-case hex of the exact body bytes (of b"" when there is no body)

and the signature is the lower-case hex HMAC-SHA256 of that string (UTF-8) under the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from urllib.parse import quote_from_bytes, unquote_to_bytes

KEY_HEADER = "X-Partner-Key"
TIMESTAMP_HEADER = "X-Partner-Timestamp"
NONCE_HEADER = "X-Partner-Nonce"
SIGNATURE_HEADER = "X-Partner-Signature"
HEADERS = (KEY_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)

NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
SIGNATURE_PATTERN = re.compile(r"[0-9a-f]{64}")
# Unix seconds: digits only, no sign, no fraction, at most 12 of them (year 33658).
TIMESTAMP_PATTERN = re.compile(r"[0-9]{1,12}")
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()
# RFC 3986 unreserved characters stay as they are; everything else is %XX with upper-case hex.
_UNRESERVED = "-_.~"


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def canonical_query(query: str | bytes) -> str:
    """The query string in one form for every way of writing it.

    Each `name=value` pair is decoded the way a form parser reads it ("+" is a space, `%XX` a byte),
    then re-encoded byte for byte (unreserved characters literal, the rest `%XX` upper-case); a pair
    without "=" gets an empty value; empty pairs are dropped. Pairs are ordered by encoded name, and
    pairs with the same name keep the order they were sent in, because that order can mean something.
    """
    pairs: list[tuple[str, str]] = []
    for part in _as_bytes(query).split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        pairs.append((_encode(name), _encode(value)))
    pairs.sort(key=lambda pair: pair[0])  # stable: repeated names keep their order
    return "&".join(f"{name}={value}" for name, value in pairs)


def _encode(component: bytes) -> str:
    return quote_from_bytes(unquote_to_bytes(component.replace(b"+", b" ")), safe=_UNRESERVED)


def body_sha256(body: bytes) -> str:
    """Lower-case hex SHA-256 of the body; for large bodies feed `hashlib.sha256()` chunk by chunk instead."""
    return hashlib.sha256(body).hexdigest()


def canonical_string(*, method: str, path: str, query: str | bytes, timestamp: str, nonce: str,
                     body_hash: str) -> str:
    """The six lines that are signed (see the module docstring)."""
    return "\n".join([method.upper(), path, canonical_query(query), timestamp, nonce, body_hash.lower()])


def signature(secret: str | bytes, canonical: str) -> str:
    return hmac.new(_as_bytes(secret), canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def new_nonce() -> str:
    """A fresh random nonce (128 bits, 22 url-safe characters)."""
    return secrets.token_urlsafe(16)


def sign(
    *, key_id: str, secret: str | bytes, method: str, path: str, query: str | bytes = "", body: bytes = b"",
    body_hash: str | None = None, timestamp: int | None = None, nonce: str | None = None,
) -> dict[str, str]:
    """The four X-Partner-* headers for one request.

    `path` is the path as it will be sent (e.g. "/api/v1/partner/bank/v1/debit-results"), `query` the
    query string without "?". Give `body_hash` (hex SHA-256) instead of `body` for a file hashed in
    chunks. `timestamp` defaults to now and `nonce` to a fresh random one; pass them for tests.
    """
    timestamp_text = str(int(time.time()) if timestamp is None else timestamp)
    nonce = new_nonce() if nonce is None else nonce
    if not TIMESTAMP_PATTERN.fullmatch(timestamp_text):
        raise ValueError("timestamp must be non-negative unix seconds")
    if not NONCE_PATTERN.fullmatch(nonce):
        raise ValueError("nonce must be 16-64 characters of A-Z a-z 0-9 - _")
    canonical = canonical_string(method=method, path=path, query=query, timestamp=timestamp_text, nonce=nonce,
                                 body_hash=body_sha256(body) if body_hash is None else body_hash)
    return {KEY_HEADER: key_id, TIMESTAMP_HEADER: timestamp_text, NONCE_HEADER: nonce,
            SIGNATURE_HEADER: signature(secret, canonical)}


def verify(
    *, secret: str | bytes, method: str, path: str, query: str | bytes, timestamp: str, nonce: str, body_hash: str,
    signature_hex: str,
) -> bool:
    """Whether `signature_hex` signs this request under `secret` (constant-time comparison).

    Only the signature: the timestamp window, the nonce's freshness and the key's standing are the
    verifier's to check, because they need a clock and a memory.
    """
    expected = signature(secret, canonical_string(method=method, path=path, query=query, timestamp=timestamp,
                                                  nonce=nonce, body_hash=body_hash))
    return hmac.compare_digest(expected.encode("ascii"), signature_hex.strip().lower().encode("ascii", "replace"))


def timestamp_skew(timestamp: str, now: float) -> float | None:
    """Seconds between the request's timestamp and `now` (positive when the request is from the future);
    None when the header is not unix seconds."""
    if not TIMESTAMP_PATTERN.fullmatch(timestamp):
        return None
    return int(timestamp) - now
