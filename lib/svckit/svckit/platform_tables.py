"""Tables every service keeps in its own schema for the library's mechanisms.

Defined once here; a service adds them to its metadata and its first migration creates them
with `svckit.migrations.create_platform_tables_v1`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.types import UserDefinedType


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id; orders outbox events by the transaction that wrote them."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


# Let reflection (Alembic's autogenerate) recognise the column type instead of warning about it.
ischema_names.setdefault("xid8", Xid8)


@dataclass(frozen=True)
class PlatformTables:
    outbox: Table
    idempotency: Table
    consumed: Table
    feed_cursor: Table

    @property
    def all(self) -> tuple[Table, ...]:
        return (self.outbox, self.idempotency, self.consumed, self.feed_cursor)


def platform_tables(metadata: MetaData) -> PlatformTables:
    outbox = Table(
        "outbox_event", metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        # Set by the database to the writing transaction's id; the feed only serves events
        # whose transaction is older than every transaction still running (see svckit.outbox).
        Column("txid", Xid8(), nullable=False, server_default=text("pg_current_xact_id()")),
        Column("event_type", Text, nullable=False),
        Column("aggregate_type", Text, nullable=False),
        Column("aggregate_id", Text, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("request_id", Text),
        Index("ix_outbox_event_txid_id", "txid", "id"),
    )
    idempotency = Table(
        "idempotency_key", metadata,
        Column("caller", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("request_hash", Text, nullable=False),
        Column("method", Text, nullable=False),
        Column("path", Text, nullable=False),
        Column("status_code", Integer),
        Column("content_type", Text),
        Column("response_body", LargeBinary),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("caller", "key"),
        Index("ix_idempotency_key_created_at", "created_at"),
    )
    consumed = Table(
        "consumed_event", metadata,
        Column("source", Text, nullable=False),
        Column("event_id", BigInteger, nullable=False),
        Column("consumed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("source", "event_id"),
    )
    feed_cursor = Table(
        "feed_cursor", metadata,
        Column("source", Text, primary_key=True),
        Column("cursor", Text, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return PlatformTables(outbox, idempotency, consumed, feed_cursor)
