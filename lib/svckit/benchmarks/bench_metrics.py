"""What metrics cost: the timing middleware per request, and a scrape of a service with its outbox gauges.

Baseline, measured in the same process: the same trivial ASGI app without the middleware, called
directly (no HTTP client), so the difference is the middleware and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from starlette.types import Receive, Scope, Send

from svckit.app import create_service_app
from svckit.internal_auth import mint_internal_token
from svckit.metrics import MetricsMiddleware
from svckit.models import service_metadata
from svckit.ops.bench import BenchContext, Figure, paired, timed
from svckit.platform_tables import platform_tables
from svckit.settings import ServiceSettings
from svckit.testing.asgi import running

REQUESTS = 20_000
SCRAPES = 200


async def plain_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def run(ctx: BenchContext) -> list[Figure]:
    timed_app = MetricsMiddleware(plain_app)
    scope: Scope = {"type": "http", "method": "GET", "path": "/v1/things/1", "headers": []}

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        return None

    async def calls(app: object) -> None:
        for _ in range(REQUESTS):
            await app(dict(scope), receive, send)  # type: ignore[operator]

    plain_s, timed_s = await paired(lambda: calls(plain_app), lambda: calls(timed_app), repeats=5)

    schema = ctx.scratch_schema
    settings = ServiceSettings(  # type: ignore[call-arg]
        database_url=ctx.db.dsn(schema), INTERNAL_TOKEN_SECRET=ctx.internal_secret, log_level="WARNING")
    app = create_service_app(service=schema, schema=schema, settings=settings,
                             tables=platform_tables(service_metadata(schema)), alembic_ini=Path("unused"),
                             routers=[], description="bench")
    token = mint_internal_token(ctx.internal_secret, caller_service="monitor", audience=schema)
    async with running(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"

        async def scrapes() -> None:
            for _ in range(SCRAPES):
                assert (await client.get("/metrics")).status_code == 200

        scrape_s = await timed(scrapes)
    return [
        Figure("metrics_middleware_overhead_us", (timed_s - plain_s) / REQUESTS * 1e6, "us"),
        Figure("metrics_middleware_per_request_us", timed_s / REQUESTS * 1e6, "us"),
        Figure("metrics_scrape_ms", scrape_s / SCRAPES * 1e3, "ms"),
    ]
