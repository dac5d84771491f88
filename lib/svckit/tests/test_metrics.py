"""GET /metrics: request timing by route template, in-flight requests, outbox and feed-consumer lag,
batch durations, and who may scrape (internal scrapers only)."""

import asyncio
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter
from pydantic import SecretStr, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from svckit.db import Database
from svckit.feed import FeedConsumer
from svckit.internal_auth import mint_internal_token
from svckit.metrics import duration_histogram, observe_duration
from svckit.outbox import FeedEvent, FeedPage, NewEvent, append_event, append_events, read_feed
from svckit.platform_tables import PlatformTables
from svckit.settings import ServiceSettings
from svckit.testing.asgi import internal_headers, running
from svckit.testing.metrics import sample as metric_sample
from svckit.testing.plugin import StackDatabase

from .conftest import kit_app

SCRAPE_TOKEN = "scrape-" + secrets.token_urlsafe(32)
gates: dict[str, asyncio.Event] = {}  # made in the test's own event loop
REPORT_DURATION = duration_histogram("test_report_duration_seconds", "A report built in a test", "report")


def things_router() -> APIRouter:
    router = APIRouter()

    @router.get("/v1/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    @router.get("/v1/slow")
    async def slow() -> dict[str, str]:
        await gates["slow"].wait()
        return {"status": "done"}

    return router


@pytest.fixture
async def client(stack_db: StackDatabase, internal_secret: str) -> AsyncIterator[httpx.AsyncClient]:
    app = kit_app(stack_db, internal_secret, [things_router()], METRICS_TOKEN=SecretStr(SCRAPE_TOKEN))
    async with running(app) as client:
        yield client


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample; 0 when the series does not exist yet."""
    return metric_sample(exposition, name, **labels) or 0.0


async def test_requests_are_timed_by_route_template_never_by_raw_path(client: httpx.AsyncClient) -> None:
    route = {"method": "GET", "route": "/v1/things/{thing_id}", "status": "2xx"}
    before = await scrape(client)
    for thing_id in (918273, 918274, 918275):
        assert (await client.get(f"/v1/things/{thing_id}")).status_code == 200
    assert (await client.get("/v1/things/not-a-number")).status_code == 422
    assert (await client.get("/no/such/path/918276")).status_code == 404
    after = await scrape(client)

    count = "http_request_duration_seconds_count"
    assert sample(after, count, **route) - sample(before, count, **route) == 3
    invalid = {**route, "status": "4xx"}
    assert sample(after, count, **invalid) - sample(before, count, **invalid) == 1
    unmatched = {"method": "GET", "route": "unmatched", "status": "4xx"}
    assert sample(after, count, **unmatched) - sample(before, count, **unmatched) == 1
    assert sample(after, "http_request_duration_seconds_bucket", **route, le="+Inf") >= 3
    for raw in ("918273", "not-a-number", "/no/such"):
        assert raw not in after


async def test_in_flight_counts_requests_being_served(client: httpx.AsyncClient) -> None:
    gates["slow"] = asyncio.Event()
    idle = sample(await scrape(client), "http_requests_in_flight")  # the scrape itself is in flight
    waiting = [asyncio.create_task(client.get("/v1/slow")) for _ in range(2)]
    await asyncio.sleep(0.05)
    assert sample(await scrape(client), "http_requests_in_flight") == idle + 2
    gates["slow"].set()
    assert all(r.status_code == 200 for r in await asyncio.gather(*waiting))
    assert sample(await scrape(client), "http_requests_in_flight") == idle


async def test_only_internal_scrapers_may_read_metrics(client: httpx.AsyncClient, internal_secret: str) -> None:
    missing = await client.get("/metrics")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "metrics_token_missing"

    wrong = await client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
    assert (wrong.status_code, wrong.json()["code"]) == (401, "metrics_token_invalid")
    elsewhere = mint_internal_token(internal_secret, caller_service="monitor", audience="ledger")
    other = await client.get("/metrics", headers={"Authorization": f"Bearer {elsewhere}"})
    assert (other.status_code, other.json()["code"]) == (401, "metrics_token_invalid")

    # What the gateway sends on behalf of a person never opens the metrics, admin or not.
    person = await client.get("/metrics", headers=internal_headers(internal_secret, "kit", roles=frozenset({"admin"})))
    assert (person.status_code, person.json()["code"]) == (403, "metrics_scraper_only")

    service = mint_internal_token(internal_secret, caller_service="monitor", audience="kit")
    assert (await client.get("/metrics", headers={"Authorization": f"Bearer {service}"})).status_code == 200
    assert "http_request_duration_seconds" in await scrape(client)


def test_the_scrape_token_must_be_strong_and_its_own(internal_secret: str) -> None:
    base = {"database_url": "postgresql://x/y", "INTERNAL_TOKEN_SECRET": internal_secret}
    with pytest.raises(ValidationError, match="METRICS_TOKEN must be a random string"):
        ServiceSettings(**base, METRICS_TOKEN="changeme")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="METRICS_TOKEN must differ from INTERNAL_TOKEN_SECRET"):
        ServiceSettings(**base, METRICS_TOKEN=internal_secret)  # type: ignore[arg-type]
    assert ServiceSettings(**base).metrics_token is None  # type: ignore[arg-type]


async def test_outbox_events_held_back_by_an_open_transaction_are_reported(
    client: httpx.AsyncClient, kit_engine: AsyncEngine, kit_tables: PlatformTables,
) -> None:
    async with AsyncSession(kit_engine) as early, AsyncSession(kit_engine) as late:
        await append_event(early, kit_tables, event_type="t", aggregate_type="t", aggregate_id="early", payload={})
        newest = await append_event(late, kit_tables, event_type="t", aggregate_type="t", aggregate_id="late",
                                    payload={})
        await late.commit()
        # The early transaction is still open: the feed must not serve the late event yet.
        held = await scrape(client)
        assert sample(held, "outbox_held_back_events") >= 1
        assert sample(held, "outbox_held_back_seconds") >= 0
        assert sample(held, "outbox_last_event_id") == newest
        await early.rollback()
    released_now = await scrape(client)
    assert sample(released_now, "outbox_held_back_events") == 0
    assert sample(released_now, "outbox_held_back_seconds") == 0


async def test_a_consumer_reports_how_far_behind_its_source_it_is(
    client: httpx.AsyncClient, kit_engine: AsyncEngine, kit_tables: PlatformTables,
) -> None:
    async with kit_engine.connect() as connection:  # start after whatever other tests left in the outbox
        head = (await connection.execute(text(
            "SELECT txid::text || '.' || id FROM kit.outbox_event ORDER BY txid DESC, id DESC LIMIT 1"))).scalar()
    async with AsyncSession(kit_engine) as session:
        await append_events(session, kit_tables, [NewEvent("t", "t", str(i), {}) for i in range(25)])
        await session.commit()

    async def fetch(cursor: str | None, limit: int) -> FeedPage:
        async with AsyncSession(kit_engine) as session:
            return await read_feed(session, kit_tables, cursor or head, limit)

    async def handle(session: AsyncSession, event: FeedEvent) -> None:
        return None

    source = "metrics-" + secrets.token_hex(3)
    consumer = FeedConsumer(Database.from_engine(kit_engine, schema="kit"), kit_tables, source, fetch, handle)
    labels = {"consumer": "kit", "source": source}
    assert await consumer.poll_once(limit=10) == 10
    behind = await scrape(client)
    assert sample(behind, "feed_consumer_lag_events", **labels) == 15
    assert sample(behind, "feed_consumer_lag_seconds", **labels) > 0
    assert await consumer.poll_once(limit=10) == 10
    assert sample(await scrape(client), "feed_consumer_lag_events", **labels) == 5
    assert await consumer.poll_once(limit=10) == 5
    caught_up = await scrape(client)
    assert sample(caught_up, "feed_consumer_lag_events", **labels) == 0
    assert sample(caught_up, "feed_consumer_lag_seconds", **labels) == 0
    assert 0 <= sample(caught_up, "feed_consumer_last_poll_age_seconds", **labels) < 60


async def test_batch_work_is_timed_with_its_outcome(client: httpx.AsyncClient) -> None:
    with observe_duration(REPORT_DURATION, report="aging"):
        await asyncio.sleep(0.01)
    with pytest.raises(RuntimeError), observe_duration(REPORT_DURATION, report="aging"):
        raise RuntimeError("the report failed")
    exposition = await scrape(client)
    ok = {"report": "aging", "outcome": "ok"}
    assert sample(exposition, "test_report_duration_seconds_count", **ok) == 1
    assert sample(exposition, "test_report_duration_seconds_sum", **ok) >= 0.01
    assert sample(exposition, "test_report_duration_seconds_count", report="aging", outcome="error") == 1
