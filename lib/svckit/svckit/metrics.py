"""Prometheus metrics of a service or the gateway, served at `GET /metrics` to internal scrapers only.

- Every HTTP request: `http_request_duration_seconds{method,route,status}` (route is the matched
  route's template, never the raw path, so ids in URLs cannot explode the series) and
  `http_requests_in_flight`.
- The change feed, computed when scraped: what this service's outbox holds back
  (`outbox_*`, one cheap query) and how far each feed consumer of this service is behind its source
  (`feed_consumer_*`, from what its last poll learnt).
- Long batch work (e.g. a settlement run) through `duration_histogram` and `observe_duration`.

Access: `Authorization: Bearer <METRICS_TOKEN>` (a static scrape credential, for Prometheus'
`credentials_file`), or an internal token for this service minted by a service acting on its own
(no end user). Anything else is 401/403. The gateway never forwards `/api/v1/<service>/metrics`.

Several uvicorn workers: with `PROMETHEUS_MULTIPROC_DIR` set (before the process starts) every
worker writes its samples there and any worker's `/metrics` answers for all of them.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import SecretStr
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from svckit.db import Database
from svckit.errors import Forbidden, Unauthorized
from svckit.internal_auth import bearer_token, verify_internal_token
from svckit.kit import kit_of
from svckit.platform_tables import PlatformTables

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if MULTIPROCESS_DIR:  # e.g. a folder under a pod's /tmp volume, made on first start
    os.makedirs(MULTIPROCESS_DIR, exist_ok=True)

# Our hot paths answer in one to a few milliseconds: the default buckets start too coarse for them.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Batch work (settlement, bank files) takes seconds to tens of minutes.
LONG_TASK_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)
# A method outside these is counted as "other": a client cannot mint new series with made-up verbs.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"
# Where a route that FastAPI does not mark in the scope (a plain Starlette route) names its template.
ROUTE_TEMPLATE_KEY = "svckit.route_template"


def name_route(scope: Scope, template: str) -> None:
    """Label the request by `template` in the metrics (FastAPI's own routes need not: the router
    leaves them in the scope)."""
    scope[ROUTE_TEMPLATE_KEY] = template

REQUEST_DURATION = Histogram(
    "http_request_duration_seconds", "Time from a request's arrival to its last response byte",
    ["method", "route", "status"], buckets=REQUEST_BUCKETS,
)
IN_FLIGHT = Gauge("http_requests_in_flight", "Requests being served now", multiprocess_mode="livesum")


def duration_histogram(name: str, documentation: str, *labels: str) -> Histogram:
    """A histogram of how long a piece of batch work took (seconds), labelled `*labels` and `outcome`."""
    return Histogram(name, documentation, [*labels, "outcome"], buckets=LONG_TASK_BUCKETS)


@contextmanager
def observe_duration(histogram: Histogram, **labels: str) -> Iterator[None]:
    """Time the block into `histogram`, with `outcome` "ok" or "error" (an exception passes through)."""
    started, outcome = time.perf_counter(), "error"
    try:
        yield
        outcome = "ok"
    finally:
        histogram.labels(**labels, outcome=outcome).observe(time.perf_counter() - started)


class MetricsMiddleware:
    """Pure ASGI: times every HTTP request by its route template. Outermost, so it sees the final status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Labelled children looked up once: `labels()` validates and locks on every call.
        self._children: dict[tuple[str, str, str], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and MULTIPROCESS_DIR:
            await self.app(scope, receive, _marking_dead_at_shutdown(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            IN_FLIGHT.dec()
            # The router leaves the matched route in the scope; its template bounds the series.
            route = scope.get(ROUTE_TEMPLATE_KEY) or getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
            key = (method, route, f"{status // 100}xx")
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = REQUEST_DURATION.labels(*key)
            child.observe(time.perf_counter() - started)


def _marking_dead_at_shutdown(send: Send) -> Send:
    """A worker that stops must stop counting in the live gauges (in-flight requests). Done when its
    app has shut down: uvicorn's workers end without running `atexit` handlers."""

    async def send_then_mark(message: Message) -> None:
        await send(message)
        if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    return send_then_mark


# --- the change feed, as known to this process ------------------------------------------------

@dataclass
class FeedProgress:
    """What a consumer's last successful poll learnt about its source (per process: every worker
    runs its own consumer loop, so the worker that answers a scrape knows its own recent poll)."""

    pending: int
    pending_since: datetime | None
    polled_at: float


_feed_progress: dict[tuple[str, str], FeedProgress] = {}


def record_feed_poll(consumer: str, source: str, pending: int, pending_since: datetime | None) -> None:
    """Called by `FeedConsumer` after each poll that took effect."""
    _feed_progress[(consumer, source)] = FeedProgress(pending, pending_since, time.time())


def feed_consumer_families(consumer: str, now: float) -> list[GaugeMetricFamily]:
    events = GaugeMetricFamily("feed_consumer_lag_events", "About how many events the source had written beyond"
                               " this consumer's last page, at its last poll", labels=["consumer", "source"])
    seconds = GaugeMetricFamily("feed_consumer_lag_seconds", "Age of the oldest source event this consumer has"
                                " not applied (0 when its last poll found nothing more)", labels=["consumer", "source"])
    poll_age = GaugeMetricFamily("feed_consumer_last_poll_age_seconds", "Seconds since this consumer's last"
                                 " successful poll (grows while its source is unreachable)",
                                 labels=["consumer", "source"])
    for (name, source), progress in sorted(_feed_progress.items()):
        if name != consumer:
            continue
        behind = now - progress.pending_since.timestamp() if progress.pending and progress.pending_since else 0.0
        events.add_metric([name, source], progress.pending)
        seconds.add_metric([name, source], max(behind, 0.0))
        poll_age.add_metric([name, source], max(now - progress.polled_at, 0.0))
    return [events, seconds, poll_age]


async def outbox_families(db: Database, tables: PlatformTables, now: float) -> list[GaugeMetricFamily]:
    """The newest event of this service's outbox, and the committed events the feed does not serve
    yet because a transaction older than them is still open (index lookups only)."""
    t = tables.outbox
    table = f'"{t.schema}"."{t.name}"' if t.schema else f'"{t.name}"'
    async with db.engine.connect() as connection:
        row = (await connection.execute(text(
            f"SELECT last.id AS last_id, held.n AS held_back, held.oldest AS held_since FROM"  # noqa: S608
            f" (SELECT count(*) AS n, min(occurred_at) AS oldest FROM {table}"
            "   WHERE txid >= pg_snapshot_xmin(pg_current_snapshot())) AS held"
            f" LEFT JOIN (SELECT id FROM {table} ORDER BY id DESC LIMIT 1) AS last ON true"
        ))).one()
    last = GaugeMetricFamily("outbox_last_event_id", "Id of the newest event written to this service's outbox"
                             " (its rate is events written per second)", value=row.last_id or 0)
    held = GaugeMetricFamily("outbox_held_back_events", "Committed events the feed does not serve yet: an older"
                             " transaction is still open", value=row.held_back)
    held_age = row.held_since.timestamp() if row.held_since else now
    held_seconds = GaugeMetricFamily("outbox_held_back_seconds", "Age of the oldest held-back event",
                                     value=max(now - held_age, 0.0))
    return [last, held, held_seconds]


class _Families(Collector):
    def __init__(self, families: Iterable[GaugeMetricFamily]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return self.families


def exposition(scraped: Iterable[GaugeMetricFamily]) -> bytes:
    """The process's (or, in multiprocess mode, every worker's) metrics, then those computed now."""
    if MULTIPROCESS_DIR:
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        recorded = generate_latest(merged)
    else:
        recorded = generate_latest(REGISTRY)
    now_registry = CollectorRegistry(auto_describe=False)
    now_registry.register(_Families(scraped))
    return recorded + generate_latest(now_registry)


# --- GET /metrics ----------------------------------------------------------------------------

def authorize_scraper(request: Request, metrics_token: SecretStr | None) -> None:
    """The static scrape token, or a service's own internal token for this service; never a person's."""
    presented = bearer_token(request)
    if presented is None:
        raise Unauthorized("metrics are served to internal scrapers only: send the scrape token",
                           code="metrics_token_missing")
    if metrics_token is not None and hmac.compare_digest(presented.encode(),
                                                         metrics_token.get_secret_value().encode()):
        return
    kit = kit_of(request)
    try:
        caller = verify_internal_token(kit.internal_secret, presented, audience=kit.service)
    except Unauthorized:
        raise Unauthorized("not the scrape token nor an internal token for this service",
                           code="metrics_token_invalid") from None
    if caller.user_id is not None:
        raise Forbidden("metrics are for internal scrapers, not for calls made on behalf of a person",
                        code="metrics_scraper_only")


def install_metrics(app: FastAPI, metrics_token: SecretStr | None, *, feed: bool) -> None:
    """Time every request and serve `GET /metrics`; `feed`: add the outbox and feed-consumer gauges.

    Call after the other middleware, so the timing is outermost."""
    app.add_middleware(MetricsMiddleware)
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus text exposition, for internal scrapers."""
        authorize_scraper(request, metrics_token)
        now, kit = time.time(), kit_of(request)
        scraped: list[GaugeMetricFamily] = []
        if feed:
            scraped += await outbox_families(kit.db, kit.tables, now)
            scraped += feed_consumer_families(kit.schema, now)
        return Response(exposition(scraped), media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)
