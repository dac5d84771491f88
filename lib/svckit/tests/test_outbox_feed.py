"""The change feed never skips an event, whatever order transactions commit in."""

import asyncio
import random

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from svckit.outbox import FeedPage, append_event, read_feed
from svckit.platform_tables import PlatformTables
from svckit.testing.asgi import internal_headers


async def _append(session: AsyncSession, tables: PlatformTables, tag: str) -> int:
    return await append_event(session, tables, event_type="test.happened", aggregate_type="test",
                              aggregate_id=tag, payload={"tag": tag})


async def _drain(engine: AsyncEngine, tables: PlatformTables, cursor: str | None) -> tuple[list[int], str | None]:
    ids: list[int] = []
    while True:
        async with AsyncSession(engine) as session:
            page = await read_feed(session, tables, cursor, 50)
        ids += [e.id for e in page.events]
        if not page.events:
            return ids, cursor
        cursor = page.next_cursor


async def _tail(engine: AsyncEngine, tables: PlatformTables) -> str:
    _, cursor = await _drain(engine, tables, None)
    return cursor or "0.0"


async def test_an_event_inserted_first_but_committed_last_is_not_skipped(
    kit_engine: AsyncEngine, kit_tables: PlatformTables
) -> None:
    cursor = await _tail(kit_engine, kit_tables)
    async with AsyncSession(kit_engine) as slow, AsyncSession(kit_engine) as fast:
        first = await _append(slow, kit_tables, "slow")       # lower id, still uncommitted
        second = await _append(fast, kit_tables, "fast")      # higher id, commits first
        assert first < second
        await fast.commit()

        seen, cursor_after = await _drain(kit_engine, kit_tables, cursor)
        # A naive `id > cursor` feed would hand out `second` now and skip `first` forever.
        assert seen == []
        await slow.commit()

    seen, _ = await _drain(kit_engine, kit_tables, cursor_after)
    assert seen == [first, second]


async def test_an_older_transaction_holds_back_newer_events_until_it_ends(
    kit_engine: AsyncEngine, kit_tables: PlatformTables
) -> None:
    cursor = await _tail(kit_engine, kit_tables)
    async with AsyncSession(kit_engine) as older, AsyncSession(kit_engine) as newer:
        await older.execute(text("SELECT pg_current_xact_id()"))  # takes its transaction id first
        newer_id = await _append(newer, kit_tables, "newer")
        await newer.commit()
        assert (await _drain(kit_engine, kit_tables, cursor))[0] == []
        older_id = await _append(older, kit_tables, "older")
        await older.commit()
    seen, _ = await _drain(kit_engine, kit_tables, cursor)
    assert seen == [older_id, newer_id]  # in commit-safe (transaction) order, each once


async def test_rolled_back_events_never_appear(kit_engine: AsyncEngine, kit_tables: PlatformTables) -> None:
    cursor = await _tail(kit_engine, kit_tables)
    async with AsyncSession(kit_engine) as session:
        await _append(session, kit_tables, "abandoned")
        await session.rollback()
    assert (await _drain(kit_engine, kit_tables, cursor))[0] == []


async def test_concurrent_writers_and_a_polling_reader_over_http_see_every_event_exactly_once(
    kit_engine: AsyncEngine, kit_tables: PlatformTables, kit_client: httpx.AsyncClient, internal_secret: str
) -> None:
    rng = random.Random(20261123)
    start = await _tail(kit_engine, kit_tables)
    committed: list[int] = []
    headers = internal_headers(internal_secret, "kit", caller_service="performance")

    async def writer(n: int) -> None:
        for i in range(6):
            async with AsyncSession(kit_engine) as session:
                ids = [await _append(session, kit_tables, f"w{n}-{i}-{k}") for k in range(rng.randint(1, 3))]
                await asyncio.sleep(rng.uniform(0, 0.03))  # hold the transaction open: commits interleave
                if rng.random() < 0.2:
                    await session.rollback()
                else:
                    await session.commit()
                    committed.extend(ids)

    seen: list[int] = []
    done = asyncio.Event()

    async def reader() -> None:
        cursor = start
        while True:
            finished = done.is_set()
            response = await kit_client.get("/internal/feed", params={"after": cursor, "limit": 7}, headers=headers)
            assert response.status_code == 200, response.text
            page = FeedPage.model_validate(response.json())
            seen.extend(e.id for e in page.events)
            cursor = page.next_cursor
            if finished and not page.events:
                return
            await asyncio.sleep(0.005)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(n) for n in range(8)))
    done.set()
    await reading
    assert len(seen) == len(set(seen)), "an event was delivered twice within one pass"
    assert sorted(seen) == sorted(committed), "an event was skipped or a rolled-back one delivered"


async def test_feed_requires_an_internal_token_and_validates_its_cursor(
    kit_client: httpx.AsyncClient, internal_secret: str
) -> None:
    assert (await kit_client.get("/internal/feed")).status_code == 401
    bad = await kit_client.get("/internal/feed", params={"after": "x'; drop"},
                               headers=internal_headers(internal_secret, "kit"))
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_cursor"
    assert bad.headers["content-type"] == "application/problem+json"


async def test_events_are_ordered_by_transaction_number_not_by_its_digits(
    kit_engine: AsyncEngine, kit_tables: PlatformTables
) -> None:
    # Transactions 9 and 10 are long finished on any server, and as text "10" sorts before "9".
    async with AsyncSession(kit_engine) as session:
        for txid in (10, 9):
            await session.execute(
                kit_tables.outbox.insert().values(txid=text(f"CAST('{txid}' AS xid8)"), event_type="digits",
                                                  aggregate_type="t", aggregate_id=str(txid), payload={}))
        await session.commit()
    async with AsyncSession(kit_engine) as session:
        page = await read_feed(session, kit_tables, None, 2)
    assert [e.cursor.split(".")[0] for e in page.events] == ["9", "10"]
    async with AsyncSession(kit_engine) as session:
        after = await read_feed(session, kit_tables, page.events[0].cursor, 1)
    assert after.events[0].cursor == page.events[1].cursor
