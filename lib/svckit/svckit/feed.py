"""The change feed over HTTP, and the consumer that applies another service's feed exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from svckit.db import Database
from svckit.kit import kit_of
from svckit.metrics import record_feed_poll
from svckit.outbox import FeedEvent, FeedPage, read_feed
from svckit.platform_tables import PlatformTables
from svckit.routing import SessionDep, service_router

log = logging.getLogger("svckit.feed")
MAX_FEED_PAGE = 1000


def feed_router() -> APIRouter:
    router = service_router(prefix="/internal", tags=["change feed"])

    @router.get("/feed", response_model=FeedPage)
    async def change_feed(
        request: Request, session: SessionDep,
        after: Annotated[str | None, Query(description="Cursor of the last event processed")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_FEED_PAGE)] = 100,
    ) -> FeedPage:
        """Events of this service in commit-safe order, after the given cursor (at-least-once)."""
        return await read_feed(session, kit_of(request).tables, after, limit)

    return router


FetchPage = Callable[[str | None, int], Awaitable[FeedPage]]
HandleEvent = Callable[[AsyncSession, FeedEvent], Awaitable[None]]
HandlePage = Callable[[AsyncSession, list[FeedEvent]], Awaitable[None]]


class FeedConsumer:
    """Applies each event of one source once: the handler's effect, the processed id and the
    cursor commit together, and an id already recorded is skipped on redelivery.

    `handle` takes effect per event; `handle_page`, when given, once for all the page's fresh
    events (a consumer that can coalesce them, e.g. one refresh for many changes)."""

    def __init__(self, db: Database, tables: PlatformTables, source: str, fetch: FetchPage,
                 handle: HandleEvent | None = None, *, handle_page: HandlePage | None = None) -> None:
        if (handle is None) == (handle_page is None):
            raise ValueError("give exactly one of handle and handle_page")
        self.db, self.tables, self.source, self.fetch = db, tables, source, fetch
        self.handle, self.handle_page = handle, handle_page

    async def cursor(self) -> str | None:
        async with self.db.sessionmaker() as session:
            t = self.tables.feed_cursor
            return (await session.execute(select(t.c.cursor).where(t.c.source == self.source))).scalar()

    async def poll_once(self, limit: int = 100) -> int:
        """Fetch one page after the stored cursor and apply it; returns how many events took effect."""
        return (await self._poll(limit))[1]

    async def drain(self, limit: int = 1000) -> int:
        """Apply pages until the source has nothing newer; returns how many events took effect.
        (A page of redelivered events applies nothing but still moves the cursor on.)"""
        total = 0
        while True:
            fetched, applied = await self._poll(limit)
            total += applied
            if fetched == 0:
                return total

    async def _poll(self, limit: int) -> tuple[int, int]:
        page = await self.fetch(await self.cursor(), limit)
        if not page.events:
            record_feed_poll(self.tables.feed_cursor.schema or "", self.source, 0, None)
            return 0, 0
        fresh_events: list[FeedEvent] = []
        async with self.db.sessionmaker.begin() as session:
            consumed, cursors = self.tables.consumed, self.tables.feed_cursor
            # The page's ids recorded in one statement; those already there were applied before.
            recorded = set((await session.execute(
                insert(consumed).values([{"source": self.source, "event_id": e.id} for e in page.events])
                .on_conflict_do_nothing().returning(consumed.c.event_id)
            )).scalars())
            for event in page.events:
                if event.id in recorded:
                    recorded.discard(event.id)  # a page naming an id twice applies it once
                    if self.handle is not None:
                        await self.handle(session, event)
                    fresh_events.append(event)
            if self.handle_page is not None and fresh_events:
                await self.handle_page(session, fresh_events)
            await session.execute(
                insert(cursors).values(source=self.source, cursor=page.next_cursor)
                .on_conflict_do_update(index_elements=[cursors.c.source],
                                       set_={"cursor": page.next_cursor, "updated_at": func.now()})
            )
        record_feed_poll(self.tables.feed_cursor.schema or "", self.source, page.pending, page.pending_since)
        return len(page.events), len(fresh_events)

    async def run(self, stop: asyncio.Event, *, idle_seconds: float = 1.0, limit: int = 100) -> None:
        """Poll until `stop` is set; a failing page is retried after a pause, never skipped."""
        while not stop.is_set():
            try:
                applied = await self.poll_once(limit)
            except Exception:
                log.exception("feed %s: page failed, will retry", self.source)
                applied = 0
            if applied == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=idle_seconds)
