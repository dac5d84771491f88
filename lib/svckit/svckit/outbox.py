"""Transactional outbox and the change feed read from it.

Writers append events in the same transaction as the change. Readers page through them by
(txid, id), and only see events whose writing transaction id is below the xmin of the
reader's snapshot, i.e. older than every transaction still in progress. A transaction that
took an id earlier but commits later can therefore never appear *behind* a cursor that has
already moved on: until it ends, the feed stops short of it. At-least-once, never skipping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from svckit.errors import Unprocessable
from svckit.platform_tables import PlatformTables
from svckit.requestid import current_request_id

START = "0.0"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def plain_json(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with decimals, dates and uuids as strings: what JSON columns and events store."""
    clean: dict[str, Any] = json.loads(json.dumps(payload, default=_jsonable))
    return clean


async def append_event(
    session: AsyncSession, tables: PlatformTables, *, event_type: str, aggregate_type: str,
    aggregate_id: str, payload: dict[str, Any],
) -> int:
    """Record an event in the caller's transaction; it is published only if that transaction commits."""
    clean = plain_json(payload)
    result = await session.execute(
        tables.outbox.insert()
        .values(event_type=event_type, aggregate_type=aggregate_type, aggregate_id=aggregate_id,
                payload=clean, request_id=current_request_id())
        .returning(tables.outbox.c.id)
    )
    return int(result.scalar_one())


@dataclass(frozen=True)
class NewEvent:
    event_type: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]


async def append_events(session: AsyncSession, tables: PlatformTables, events: list[NewEvent],
                        chunk: int = 5_000) -> None:
    """Many events in the caller's transaction, a few statements for all of them (batch work)."""
    request_id = current_request_id()
    for start in range(0, len(events), chunk):
        await session.execute(tables.outbox.insert(), [
            {"event_type": e.event_type, "aggregate_type": e.aggregate_type, "aggregate_id": e.aggregate_id,
             "payload": plain_json(e.payload), "request_id": request_id} for e in events[start:start + chunk]])


@dataclass(frozen=True, order=True)
class FeedPosition:
    txid: int
    id: int

    @classmethod
    def parse(cls, cursor: str | None) -> FeedPosition:
        if not cursor:
            return cls(0, 0)
        head, _, tail = cursor.partition(".")
        if not (head.isdigit() and tail.isdigit()):
            raise Unprocessable("cursor must be one returned by this feed", code="invalid_cursor", field="after")
        return cls(int(head), int(tail))

    def __str__(self) -> str:
        return f"{self.txid}.{self.id}"


class FeedEvent(BaseModel):
    id: int = Field(description="Event id, unique within the publishing service")
    cursor: str = Field(description="Position of this event; resume after it with ?after=")
    type: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]
    occurred_at: datetime
    request_id: str | None = None


class FeedPage(BaseModel):
    events: list[FeedEvent]
    next_cursor: str = Field(description="Pass as ?after= for the next page (unchanged if no events)")
    pending: int = Field(default=0, description="About how many events were written after this page (0: none"
                         " ready now); ids rolled back by writers count too, so it may overstate a little")
    pending_since: datetime | None = Field(default=None, description="When the first event after this page occurred")


async def read_feed(session: AsyncSession, tables: PlatformTables, after: str | None, limit: int) -> FeedPage:
    position = FeedPosition.parse(after)
    t = tables.outbox
    table = f'"{t.schema}"."{t.name}"' if t.schema else f'"{t.name}"'
    rows = (await session.execute(
        text(
            # The text copy gets its own name: ORDER BY txid must mean the xid8 column, not a
            # text alias (as text, 1094 sorts before 970 and the cursor would jump backwards).
            f"SELECT id, txid::text AS txid_text, event_type, aggregate_type, aggregate_id, payload, occurred_at,"  # noqa: S608
            f" request_id FROM {table}"
            " WHERE (txid, id) > (CAST(:txid AS xid8), :id)"
            "   AND txid < pg_snapshot_xmin(pg_current_snapshot())"
            " ORDER BY txid, id LIMIT :limit"
        ),
        # One row more than asked tells, at no extra cost, whether the reader is behind (its metrics).
        {"txid": position.txid, "id": position.id, "limit": limit + 1},
    )).all()
    pending, pending_since = 0, None
    if len(rows) > limit:
        pending_since, rows = rows[limit].occurred_at, rows[:limit]
        # Counting them would cost a reader catching up a quarter of its speed; the newest id is one
        # index lookup, and ids follow the feed's order closely enough for a lag gauge.
        newest = (await session.execute(text(f"SELECT max(id) FROM {table}"))).scalar_one()  # noqa: S608
        pending = max(int(newest) - rows[-1].id, 1)
    events = [
        FeedEvent(
            id=row.id, cursor=str(FeedPosition(int(row.txid_text), row.id)), type=row.event_type,
            aggregate_type=row.aggregate_type, aggregate_id=row.aggregate_id, payload=row.payload,
            occurred_at=row.occurred_at, request_id=row.request_id,
        )
        for row in rows
    ]
    return FeedPage(events=events, next_cursor=events[-1].cursor if events else str(position), pending=pending,
                    pending_since=pending_since)

