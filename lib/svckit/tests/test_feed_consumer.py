"""A consumer applies each event once: redelivery and failed pages never double an effect."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from svckit.db import Database
from svckit.feed import FeedConsumer
from svckit.outbox import FeedEvent, FeedPage, append_event, read_feed
from svckit.platform_tables import PlatformTables


@pytest.fixture
async def effects(kit_engine: AsyncEngine) -> AsyncIterator[str]:
    async with kit_engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS kit.applied_effect (event_id bigint NOT NULL)"))
        await conn.execute(text("TRUNCATE kit.applied_effect"))
    return "kit.applied_effect"


async def test_each_event_takes_effect_once_despite_redelivery_and_a_failing_page(
    kit_engine: AsyncEngine, kit_tables: PlatformTables, effects: str
) -> None:
    async with AsyncSession(kit_engine) as session:
        ids = [await append_event(session, kit_tables, event_type="t", aggregate_type="t", aggregate_id=str(i),
                                  payload={}) for i in range(5)]
        await session.commit()

    rewind = {"to_start": False}

    async def fetch(cursor: str | None, limit: int) -> FeedPage:
        # Simulate at-least-once delivery: sometimes the source hands out everything again.
        async with AsyncSession(kit_engine) as session:
            return await read_feed(session, kit_tables, None if rewind["to_start"] else cursor, limit)

    failures = {"left": 1}

    async def handle(session: AsyncSession, event: FeedEvent) -> None:
        await session.execute(text(f"INSERT INTO {effects} (event_id) VALUES (:id)"), {"id": event.id})  # noqa: S608
        if event.id == ids[3] and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("handler failed mid-page")

    consumer = FeedConsumer(Database.from_engine(kit_engine, schema="kit"), kit_tables, "kit-test", fetch, handle)
    with pytest.raises(RuntimeError):
        await consumer.poll_once(limit=1000)
    async with kit_engine.connect() as conn:
        assert (await conn.execute(text(f"SELECT count(*) FROM {effects}"))).scalar() == 0  # noqa: S608

    applied = 0
    while (n := await consumer.poll_once(limit=2)) > 0:
        applied += n
    rewind["to_start"] = True
    assert await consumer.poll_once(limit=1000) == 0  # redelivered from the start: nothing applies twice

    async with kit_engine.connect() as conn:
        rows = (await conn.execute(text(f"SELECT event_id FROM {effects}"))).scalars().all()  # noqa: S608
    assert set(ids) <= set(rows)
    assert len(rows) == len(set(rows))


async def test_drain_walks_past_redelivered_pages_to_new_events(
    kit_engine: AsyncEngine, kit_tables: PlatformTables, effects: str
) -> None:
    async def add(n: int) -> list[int]:
        async with AsyncSession(kit_engine) as session:
            ids = [await append_event(session, kit_tables, event_type="t", aggregate_type="t", aggregate_id=str(i),
                                      payload={}) for i in range(n)]
            await session.commit()
        return ids

    async def fetch(cursor: str | None, limit: int) -> FeedPage:
        async with AsyncSession(kit_engine) as session:
            return await read_feed(session, kit_tables, cursor, limit)

    async def handle(session: AsyncSession, event: FeedEvent) -> None:
        await session.execute(text(f"INSERT INTO {effects} (event_id) VALUES (:id)"), {"id": event.id})  # noqa: S608

    first = await add(4)
    consumer = FeedConsumer(Database.from_engine(kit_engine, schema="kit"), kit_tables, "kit-drain", fetch, handle)
    assert await consumer.drain(limit=2) >= len(first)
    # The cursor is lost (e.g. restored from an old backup): the next pages are all redelivered.
    async with kit_engine.begin() as conn:
        await conn.execute(text("DELETE FROM kit.feed_cursor WHERE source = 'kit-drain'"))
    later = await add(2)
    assert await consumer.poll_once(limit=2) == 0  # a page of old events applies nothing…
    assert await consumer.drain(limit=2) == len(later)  # …and drain goes on to the new ones
    async with kit_engine.connect() as conn:
        rows = (await conn.execute(text(f"SELECT event_id FROM {effects}"))).scalars().all()  # noqa: S608
    assert sorted(r for r in rows if r in first + later) == sorted(first + later)
