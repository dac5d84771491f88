"""Library mechanisms under load: outbox appends, feed reads, idempotent writes.

Baselines, measured in the same process: a plain one-row insert transaction (for the outbox)
and the same POST without an Idempotency-Key (for idempotency).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
from fastapi import Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from svckit.app import create_service_app
from svckit.db import async_url
from svckit.idempotency import IdempotencyDep
from svckit.kit import kit_of
from svckit.models import service_metadata
from svckit.ops.bench import BenchContext, Figure, paired, timed
from svckit.outbox import append_event, read_feed
from svckit.platform_tables import platform_tables
from svckit.routing import SessionDep, service_router
from svckit.settings import ServiceSettings
from svckit.testing.asgi import internal_headers, running

WRITERS, PER_WRITER = 8, 120
FEED_EVENTS, FEED_PAGE = 20_000, 1_000
POSTS = 500


async def run(ctx: BenchContext) -> list[Figure]:
    schema = ctx.scratch_schema
    tables = platform_tables(service_metadata(schema))
    engine = create_async_engine(async_url(ctx.db.dsn(schema)), pool_size=WRITERS)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE TABLE {schema}.bench_plain (id bigserial PRIMARY KEY, payload jsonb)"))

    async def plain_writer() -> None:
        for i in range(PER_WRITER):
            async with AsyncSession(engine) as s:
                await s.execute(text(f"INSERT INTO {schema}.bench_plain (payload) VALUES (:p)"),  # noqa: S608
                                {"p": f'{{"n": {i}}}'})
                await s.commit()

    async def outbox_writer() -> None:
        for i in range(PER_WRITER):
            async with AsyncSession(engine) as s:
                await append_event(s, tables, event_type="bench", aggregate_type="bench", aggregate_id=str(i),
                                   payload={"n": i})
                await s.commit()

    total = WRITERS * PER_WRITER
    plain_s, outbox_s = await paired(lambda: asyncio.gather(*(plain_writer() for _ in range(WRITERS))),
                                     lambda: asyncio.gather(*(outbox_writer() for _ in range(WRITERS))))

    async with AsyncSession(engine) as s:
        for start in range(0, FEED_EVENTS, 5_000):
            await s.execute(tables.outbox.insert(), [
                {"event_type": "bench.feed", "aggregate_type": "bench", "aggregate_id": str(n), "payload": {"n": n}}
                for n in range(start, start + 5_000)])
        await s.commit()

    async def drain() -> int:
        cursor, count = None, 0
        while True:
            async with AsyncSession(engine) as s:
                page = await read_feed(s, tables, cursor, FEED_PAGE)
            if not page.events:
                return count
            count, cursor = count + len(page.events), page.next_cursor

    read_count = 0

    async def read_all() -> None:
        nonlocal read_count
        read_count = await drain()

    feed_s = await timed(read_all)
    await engine.dispose()

    plain_post_s, idem_post_s = await _posts(ctx, schema)
    return [
        Figure("plain_insert_txn_per_s", total / plain_s, "1/s"),
        Figure("outbox_append_txn_per_s", total / outbox_s, "1/s"),
        Figure("outbox_vs_plain_ratio", plain_s / outbox_s, "x"),
        Figure("feed_read_events_per_s", read_count / feed_s, "1/s"),
        Figure("plain_post_per_s", POSTS / plain_post_s, "1/s"),
        Figure("idempotent_post_per_s", POSTS / idem_post_s, "1/s"),
        Figure("idempotent_vs_plain_post_ratio", plain_post_s / idem_post_s, "x"),
    ]


async def _posts(ctx: BenchContext, schema: str) -> tuple[float, float]:
    router = service_router()

    @router.post("/notes", status_code=201)
    async def create_note(request: Request, session: SessionDep, _: IdempotencyDep) -> dict[str, int]:
        event_id = await append_event(session, kit_of(request).tables, event_type="note", aggregate_type="note",
                                      aggregate_id="n", payload={})
        return {"event_id": event_id}

    settings = ServiceSettings(  # type: ignore[call-arg]
        database_url=ctx.db.dsn(schema), INTERNAL_TOKEN_SECRET=ctx.internal_secret, log_level="WARNING")
    app = create_service_app(service=schema, schema=schema, settings=settings,
                             tables=platform_tables(service_metadata(schema)), alembic_ini=Path("unused"),
                             routers=[router], description="bench")
    async with running(app) as client:
        client.headers.update(internal_headers(ctx.internal_secret, schema))

        async def post_many(with_key: bool) -> None:
            async def one(_: int) -> httpx.Response:
                headers = {"Idempotency-Key": uuid.uuid4().hex} if with_key else {}
                return await client.post("/notes", json={}, headers=headers)

            for batch in range(0, POSTS, 50):
                responses = await asyncio.gather(*(one(i) for i in range(batch, batch + 50)))
                assert all(r.status_code == 201 for r in responses)

        return await paired(lambda: post_many(False), lambda: post_many(True))
