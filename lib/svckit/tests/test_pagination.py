"""Keyset pages cover every row once, in order, and refuse cursors they did not issue."""

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from svckit.errors import Unprocessable
from svckit.outbox import append_event
from svckit.pagination import PageParams, decode_cursor, encode_cursor, keyset, page_of
from svckit.platform_tables import PlatformTables


async def _pages(engine: AsyncEngine, tables: PlatformTables, limit: int, descending: bool) -> list[list[int]]:
    t = tables.outbox
    pages, cursor = [], None
    while True:
        params = PageParams(cursor=cursor, limit=limit)
        stmt = keyset(select(t.c.aggregate_type, t.c.id).where(t.c.event_type == "page.test"),
                      [t.c.aggregate_type, t.c.id], params, descending=descending)
        async with AsyncSession(engine) as session:
            rows = (await session.execute(stmt)).all()
        items, cursor = page_of(rows, params, lambda r: (r.aggregate_type, r.id))
        pages.append([r.id for r in items])
        if cursor is None:
            return pages


async def test_pages_cover_every_row_once_in_order(kit_engine: AsyncEngine, kit_tables: PlatformTables) -> None:
    async with AsyncSession(kit_engine) as session:
        ids = [await append_event(session, kit_tables, event_type="page.test", aggregate_type=f"g{i % 3}",
                                  aggregate_id=str(i), payload={}) for i in range(23)]
        await session.commit()
    pages = await _pages(kit_engine, kit_tables, 5, descending=False)
    flat = [i for page in pages for i in page]
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert sorted(flat) == sorted(ids)
    assert len(flat) == len(set(flat))
    backwards = [i for page in await _pages(kit_engine, kit_tables, 4, descending=True) for i in page]
    assert backwards == list(reversed(flat))


def test_cursor_round_trips_typed_values_and_rejects_forgeries() -> None:
    from datetime import UTC, date, datetime
    from decimal import Decimal
    from uuid import uuid4

    values = [datetime(2026, 11, 23, 8, 0, tzinfo=UTC), date(2026, 1, 10), Decimal("12.30"), uuid4(), 7, "x"]
    assert decode_cursor(encode_cursor(values), len(values)) == values
    for bad in ("not-base64!", encode_cursor([1]), "eyJ9"):
        with pytest.raises(Unprocessable) as refused:
            decode_cursor(bad, 2)
        assert refused.value.code == "invalid_cursor"
