"""A cursor is base64 JSON a caller can write by hand or carry over from another endpoint: one whose
values do not fit the page's keys (wrong type, beyond 64 bits, NUL in text) is the caller's 422
`invalid_cursor`, never a query that fails in the database (found by the attack tests: a gateway
users cursor sent to org's team changes answered 500)."""

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from svckit.errors import Unprocessable
from svckit.outbox import append_event
from svckit.pagination import PageParams, decode_int_cursor, encode_cursor, keyset, page_of
from svckit.platform_tables import PlatformTables


async def _page(engine: AsyncEngine, tables: PlatformTables, cursor: str | None) -> tuple[list[int], str | None]:
    t = tables.outbox
    params = PageParams(cursor=cursor, limit=2)
    stmt = keyset(select(t.c.aggregate_type, t.c.id).where(t.c.event_type == "cursor.test"),
                  [t.c.aggregate_type, t.c.id], params)
    async with AsyncSession(engine) as session:
        rows = (await session.execute(stmt)).all()
    items, next_cursor = page_of(rows, params, lambda r: (r.aggregate_type, r.id))
    return [r.id for r in items], next_cursor


@pytest.mark.parametrize("values", [
    ["g", "not a number"], ["g", 2**63], ["g", True], ["g", 1.5], [7, 1], ["g\x00", 1], ["g", {"uuid": "0" * 32}],
    [None, 1],
], ids=["text id", "beyond 64 bits", "boolean", "float", "number for text", "nul", "uuid", "null"])
async def test_a_cursor_whose_values_do_not_fit_the_keys_is_refused(
    kit_engine: AsyncEngine, kit_tables: PlatformTables, values: list[Any],
) -> None:
    with pytest.raises(Unprocessable) as refused:
        await _page(kit_engine, kit_tables, encode_cursor(values))
    assert (refused.value.code, refused.value.extra["field"]) == ("invalid_cursor", "cursor")


async def test_the_cursor_a_page_issued_still_works(kit_engine: AsyncEngine, kit_tables: PlatformTables) -> None:
    async with AsyncSession(kit_engine) as session:
        for i in range(3):
            await append_event(session, kit_tables, event_type="cursor.test", aggregate_type="g", aggregate_id=str(i),
                               payload={})
        await session.commit()
    first, cursor = await _page(kit_engine, kit_tables, None)
    assert cursor is not None
    second, _ = await _page(kit_engine, kit_tables, cursor)
    assert len(first) == 2
    assert second
    assert not set(first) & set(second)


def test_an_integer_cursor_holds_only_64_bit_integers() -> None:
    assert decode_int_cursor(encode_cursor([5, 2**63 - 1]), 2) == [5, 2**63 - 1]
    for values in ([5, "x"], [5, 2**63], [True, 1], [1.0, 2]):
        with pytest.raises(Unprocessable):
            decode_int_cursor(encode_cursor(values), 2)
