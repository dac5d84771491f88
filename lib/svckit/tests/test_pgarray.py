"""Array literals read back by PostgreSQL exactly as the values they were built from."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from svckit import pgarray


async def test_literals_round_trip_through_postgres(kit_engine: AsyncEngine) -> None:
    strings = ["plain", "", "NULL", "with,comma", 'quote"d', "back\\slash", "{brace}", " spaced ", "中文", None]
    numbers = [1, -2, 0, None, 9_007_199_254_740_993]
    amounts = [Decimal("0.01"), Decimal("-12345678901234.5678"), Decimal("1E+2"), None]
    days = [date(2026, 2, 28), None]
    async with AsyncSession(kit_engine) as session:
        row = (await session.execute(text(
            f"SELECT {pgarray.param('s', 'text')} AS s, {pgarray.param('n', 'bigint')} AS n,"
            f" {pgarray.param('a', 'numeric')} AS a, {pgarray.param('d', 'date')} AS d"),
            {"s": pgarray.texts(strings), "n": pgarray.numbers(numbers), "a": pgarray.numbers(amounts),
             "d": pgarray.dates(days)})).one()
    assert row.s == strings
    assert row.n == numbers
    assert row.a == amounts
    assert row.d == days
    assert pgarray.numbers([]) == "{}"
