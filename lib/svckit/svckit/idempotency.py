"""`Idempotency-Key` for writes another service (or an app) may retry.

The key is claimed with an INSERT in the same transaction as the write's effect, so:
- a repeat after commit finds the stored response and gets it back unchanged;
- a concurrent duplicate blocks on the uncommitted key until the first commits, then replays it
  (or, if the first rolled back, proceeds as the first);
- the same key with a different request is refused with 422.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Annotated

from fastapi import Depends, FastAPI, Header, Request, Response
from sqlalchemy import Table, and_, bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Executable

from svckit.errors import Unprocessable
from svckit.internal_auth import CallerDep
from svckit.kit import kit_of
from svckit.platform_tables import PlatformTables
from svckit.routing import SessionDep

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 200


class IdempotentReplay(Exception):
    """Raised before the endpoint runs when the key was already used for this very request."""

    def __init__(self, status_code: int, content_type: str | None, body: bytes) -> None:
        super().__init__("replay")
        self.status_code, self.content_type, self.body = status_code, content_type, body


@dataclass
class IdempotencyClaim:
    tables: PlatformTables
    caller: str
    key: str

    async def record(self, session: AsyncSession, response: Response) -> None:
        body = getattr(response, "body", None)
        if not isinstance(body, bytes):
            raise RuntimeError("idempotent endpoints must return a fully built (non-streaming) response")
        connection = await session.connection()
        await connection.execute(_statements(self.tables.idempotency).record, {
            "owner": self.caller, "idem_key": self.key, "status": response.status_code,
            "media_type": response.headers.get("content-type"), "body": body})


@dataclass(frozen=True)
class _Statements:
    claim: Executable
    previous: Executable
    record: Executable


@cache
def _statements(t: Table) -> _Statements:
    """Built once per table: an idempotent write pays for its two statements, not for building them."""
    mine = and_(t.c.caller == bindparam("owner"), t.c.key == bindparam("idem_key"))
    return _Statements(
        claim=insert(t).values(caller=bindparam("owner"), key=bindparam("idem_key"), request_hash=bindparam("hash"),
                               method=bindparam("verb"), path=bindparam("route"))
        .on_conflict_do_nothing(index_elements=[t.c.caller, t.c.key]).returning(t.c.key),
        previous=select(t.c.request_hash, t.c.status_code, t.c.content_type, t.c.response_body).where(mine),
        record=t.update().where(mine).values(status_code=bindparam("status"), content_type=bindparam("media_type"),
                                             response_body=bindparam("body")),
    )


def request_fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def claim_idempotency_key(
    request: Request, session: SessionDep, caller: CallerDep,
    idempotency_key: Annotated[
        str | None, Header(alias=KEY_HEADER, description="Unique per intended write; retries reuse it")
    ] = None,
) -> IdempotencyClaim | None:
    if idempotency_key is None:
        return None
    if not 1 <= len(idempotency_key) <= MAX_KEY_LENGTH:
        raise Unprocessable(f"{KEY_HEADER} must be 1..{MAX_KEY_LENGTH} characters",
                            code="invalid_idempotency_key", field=f"header.{KEY_HEADER}")
    tables = kit_of(request).tables
    statements = _statements(tables.idempotency)
    owner = f"{caller.service}:{caller.user_id or '-'}"
    path = request.url.path
    fingerprint = request_fingerprint(request.method, path, request.url.query, await request.body())
    connection = await session.connection()
    mine = {"owner": owner, "idem_key": idempotency_key}
    claimed = await connection.execute(statements.claim, {**mine, "hash": fingerprint, "verb": request.method,
                                                          "route": path})
    if claimed.first() is not None:
        claim = IdempotencyClaim(tables, owner, idempotency_key)
        request.state.idempotency_claim = claim
        return claim
    previous = (await connection.execute(statements.previous, mine)).one()
    if previous.request_hash != fingerprint:
        raise Unprocessable(
            f"{KEY_HEADER} was already used for a different request", code="idempotency_key_reused",
            field=f"header.{KEY_HEADER}",
        )
    raise IdempotentReplay(previous.status_code, previous.content_type, previous.response_body or b"")


IdempotencyDep = Annotated[IdempotencyClaim | None, Depends(claim_idempotency_key)]


async def _replay(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IdempotentReplay)
    headers = {REPLAYED_HEADER: "true"}
    return Response(exc.body, status_code=exc.status_code, media_type=exc.content_type, headers=headers)


def install_idempotency(app: FastAPI) -> None:
    app.add_exception_handler(IdempotentReplay, _replay)
