"""Signed calls to the gateway's partner API, made exactly as a bank makes them.

Each request is built first and signed afterwards from the URL httpx will send (its raw path and
query), so what is signed is byte for byte what travels. A file is hashed in a first pass and sent
in chunks in a second, so a 100 MB reconciliation file is never held in memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from svckit import partner_signing

PUBLIC_PREFIX = "/api/v1/partner/bank"
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Credentials:
    """Where the gateway is and the key an administrator issued to the bank (the secret is shown once)."""

    base_url: str
    key_id: str
    secret: str


class Refused(Exception):
    """The gateway or the ledger answered with an error; `problem` is its problem+json body."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('code', '')}".strip())
        self.status = status
        self.problem = problem


class Unanswered(Exception):
    """No answer came back (connection refused or broken, timeout): the outcome is unknown."""


@dataclass(frozen=True)
class Body:
    """What a request carries: its bytes (or a file sent in chunks), their SHA-256 and media type."""

    sha256: str
    content_type: str | None = None
    data: bytes = b""
    file: Path | None = None
    size: int = 0

    @classmethod
    def empty(cls) -> Body:
        return cls(sha256=partner_signing.EMPTY_BODY_SHA256)

    @classmethod
    def of_json(cls, value: Any) -> Body:
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(sha256=partner_signing.body_sha256(data), content_type="application/json", data=data,
                   size=len(data))

    @classmethod
    def of_file(cls, path: Path, content_type: str) -> Body:
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
                digest.update(chunk)
                size += len(chunk)
        return cls(sha256=digest.hexdigest(), content_type=content_type, file=path, size=size)

    def content(self) -> bytes | Iterator[bytes]:
        if self.file is None:
            return self.data
        return _chunks(self.file)


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        yield from iter(lambda: f.read(CHUNK_BYTES), b"")


def sign_request(request: httpx.Request, credentials: Credentials, body_sha256: str, *,
                 nonce: str | None = None, timestamp: int | None = None) -> None:
    """Add the four X-Partner-* headers, signing the path and query exactly as httpx will send them."""
    path, _, query = request.url.raw_path.partition(b"?")
    request.headers.update(partner_signing.sign(
        key_id=credentials.key_id, secret=credentials.secret, method=request.method, path=path.decode("ascii"),
        query=query, body_hash=body_sha256, nonce=nonce, timestamp=timestamp))


class PartnerBankClient:
    """One bank's session with the gateway. `first_nonce` signs the first request only (to reproduce a
    call); every later request gets a fresh nonce, because a nonce works once."""

    def __init__(self, credentials: Credentials, *, timeout: float = 600.0, first_nonce: str | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.credentials = credentials
        self._next_nonce = first_nonce
        self._http = httpx.Client(base_url=credentials.base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PartnerBankClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def call(self, method: str, path: str, *, params: dict[str, str] | None = None,
             body: Body | None = None) -> Any:
        """Send one signed request to `/api/v1/partner/bank<path>`; the JSON answer, or Refused/Unanswered."""
        body = body or Body.empty()
        headers = {"accept": "application/json"}
        if body.content_type:
            headers["content-type"] = body.content_type
        if body.size:
            # Given explicitly, so a file streamed in chunks goes with its length, not chunked encoding.
            headers["content-length"] = str(body.size)
        request = self._http.build_request(method, PUBLIC_PREFIX + path, params=params, headers=headers,
                                           content=body.content() if body.size else None)
        nonce, self._next_nonce = self._next_nonce, None
        sign_request(request, self.credentials, body.sha256, nonce=nonce)
        try:
            response = self._http.send(request)
        except httpx.TransportError as exc:
            raise Unanswered(f"{method} {request.url}: {type(exc).__name__}: {exc}") from exc
        if response.is_success:
            return response.json()
        raise Refused(response.status_code, _problem_of(response))


def _problem_of(response: httpx.Response) -> dict[str, Any]:
    """The problem+json body; an answer that is not one (a proxy's HTML page) is described as one."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"type": "about:blank", "title": response.reason_phrase, "status": response.status_code,
            "detail": response.text[:500]}
