"""Where the partner bank's API lives, publicly and in the ledger, and how it is described.

Public: /api/v1/partner/bank/<path>, signed with the partner's key (never a user's token).
Ledger: /v1/bank/<path>, reached only through the partner prefix, never through /api/v1/ledger/.
"""

from __future__ import annotations

from typing import Any

from svckit import partner_signing

PUBLIC_PREFIX = "/api/v1/partner/bank"
SERVICE = "ledger"
UPSTREAM_PREFIX = "/v1/bank"
# The identity services see for a partner: user "partner:<code>" holding this role and no data scope.
USER_ID_PREFIX = "partner:"
TAG = "partner bank"


def is_partner_path(service: str, path: str) -> bool:
    """A service path that belongs to the partner API (with or without its leading slash)."""
    segments = path.lstrip("/").split("/")
    return service == SERVICE and segments[:2] == UPSTREAM_PREFIX.lstrip("/").split("/")


def public_path(upstream_path: str) -> str:
    """/v1/bank/debit-results -> /api/v1/partner/bank/debit-results"""
    return PUBLIC_PREFIX + upstream_path[len(UPSTREAM_PREFIX):]


# OpenAPI: one apiKey scheme per header; an operation requires all four together.
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "partnerKey": {"type": "apiKey", "in": "header", "name": partner_signing.KEY_HEADER,
                   "description": "The key id issued by an administrator"},
    "partnerTimestamp": {"type": "apiKey", "in": "header", "name": partner_signing.TIMESTAMP_HEADER,
                         "description": "Unix seconds when the request was signed"},
    "partnerNonce": {"type": "apiKey", "in": "header", "name": partner_signing.NONCE_HEADER,
                     "description": "16-64 characters of A-Z a-z 0-9 - _, new for every request"},
    "partnerSignature": {"type": "apiKey", "in": "header", "name": partner_signing.SIGNATURE_HEADER,
                         "description": "Hex HMAC-SHA256 of the canonical request; see the `partner bank` tag"},
}


def security() -> list[dict[str, list[str]]]:
    """An operation's security requirement: all four headers together."""
    return [{name: [] for name in SECURITY_SCHEMES}]

# The worked example is the known-answer vector of lib/svckit/tests/test_partner_signing.py.
EXAMPLE_SECRET = "bank-secret-for-test-vectors-only-0001"  # noqa: S105 - a published test vector
EXAMPLE_PATH = f"{PUBLIC_PREFIX}/v1/debit-results"
EXAMPLE_QUERY = "date=2026-11-23&batch=7"
EXAMPLE_BODY = b'{"instruction_id":"DI-20261123-0001","result":"success"}'
EXAMPLE_TIMESTAMP = 1795363200
EXAMPLE_NONCE = "n0nce-0123456789abcdef"
EXAMPLE_SIGNATURE = "2beb3fff4c91367bf15671188da36e306a7c4241d4ec6dbf8729808697aa632f"

GUIDE = f"""The partner bank (合作银行) calls `{PUBLIC_PREFIX}/...` as a machine. A user's access token is
refused here, and these signatures are refused everywhere else.

Every request carries four headers: `X-Partner-Key` (the key id), `X-Partner-Timestamp` (unix seconds),
`X-Partner-Nonce` (16-64 characters of `A-Z a-z 0-9 - _`, never reused) and `X-Partner-Signature`:
the lower-case hex HMAC-SHA256, under the key's secret, of these six lines joined by `\\n`:

1. the method, upper-case;
2. the path exactly as sent, without host or query;
3. the canonical query: pairs decoded as a form does (`+` is a space), re-encoded (`A-Z a-z 0-9 - _ . ~`
   kept, every other byte `%XX` upper-case), sorted by name (repeated names keep their order), joined by `&`;
   empty when there is none;
4. the timestamp, as sent;
5. the nonce, as sent;
6. the lower-case hex SHA-256 of the exact body bytes (of nothing, when there is no body).

The timestamp must be within the gateway's window (±300 s by default) and a nonce works once.
`svckit.partner_signing.sign(...)` implements this. Worked example: secret
`{EXAMPLE_SECRET}`, `POST {EXAMPLE_PATH}?{EXAMPLE_QUERY}`, timestamp
`{EXAMPLE_TIMESTAMP}`, nonce `{EXAMPLE_NONCE}`, body `{EXAMPLE_BODY.decode()}`
(SHA-256 `d52c613d5fe9345b690a11060997585c6fd96ddce707a73c5126b5d553750944`). The signed string is

```
POST
{EXAMPLE_PATH}
batch=7&date=2026-11-23
{EXAMPLE_TIMESTAMP}
{EXAMPLE_NONCE}
d52c613d5fe9345b690a11060997585c6fd96ddce707a73c5126b5d553750944
```

and `X-Partner-Signature` is `{EXAMPLE_SIGNATURE}`.

Refusals are 401 problem+json naming the header at fault: `partner_signature_missing`,
`partner_header_malformed`, `partner_key_unknown` (also for a revoked key or an inactive partner),
`partner_timestamp_out_of_window`, `partner_nonce_replayed`, `partner_signature_invalid`. Too many
requests are 429 `rate_limited` with `Retry-After`; a body over the partner limit is 413. Retrying a
message means signing it again with a new nonce; send an `Idempotency-Key` so it takes effect once."""
