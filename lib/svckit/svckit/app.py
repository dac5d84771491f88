"""The factory shape every service shares: error handlers, middleware, health, feed, its routers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig

from svckit.db import Database
from svckit.errors import install_error_handlers
from svckit.feed import feed_router
from svckit.health import health_router
from svckit.idempotency import install_idempotency
from svckit.identity import identity_router
from svckit.kit import ServiceKit
from svckit.logs import configure_logging
from svckit.metrics import install_metrics
from svckit.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from svckit.platform_tables import PlatformTables
from svckit.problems import install_problem_openapi, openapi_router
from svckit.settings import ServiceSettings

# A background loop of a service (e.g. following another service's change feed): it runs from
# start-up until the event is set at shutdown.
Worker = Callable[[ServiceKit, asyncio.Event], Coroutine[Any, Any, None]]


# Python collects its youngest objects every 700 allocations by default, and with them, every tenth
# and hundredth time, everything older: a service holds a few hundred thousand long-lived objects
# (routes, models, metadata), so a request that builds tens of thousands of objects (a 10,000-line
# settlement, an aging report by agent) spent up to half its CPU in the collector. Collecting young
# objects every 50,000 allocations instead costs a few megabytes at most.
GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Set the process's collector thresholds for a service (idempotent)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


# The environment variables by which OpenTelemetry is set up for a process (its SDK reads them).
OTEL_SWITCHES = ("OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER")


def telemetry() -> TelemetryConfig:
    """FastAPI's OpenTelemetry spans and metrics, on when the process is set up for OpenTelemetry.
    Off otherwise, decided once: FastAPI would ask the global providers on every request whether
    anyone had configured them (our own metrics are Prometheus, `svckit.metrics`)."""
    on = any(os.environ.get(name) for name in OTEL_SWITCHES)
    return {"tracing": on, "metrics": on, "logs": on}


def create_service_app(
    *, service: str, schema: str, settings: ServiceSettings, tables: PlatformTables, alembic_ini: Path,
    routers: Sequence[APIRouter], description: str, version: str = "0.1.0", database: Database | None = None,
    workers: Sequence[Worker] = (),
) -> FastAPI:
    """Build a service app. Nothing connects here: the database is opened in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(service, settings.log_level)
        tune_gc()
        db = database or Database.connect(
            settings.database_url, schema=schema, pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow, statement_timeout_ms=settings.db_statement_timeout_ms,
            application_name=service,
        )
        kit = ServiceKit(service, db, tables, settings.internal_token_secret.get_secret_value(), alembic_ini)
        app.state.kit = kit
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = [asyncio.create_task(worker(kit, stop)) for worker in workers]
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=5)
            if database is None:
                await db.dispose()

    # A service's description is served to internal callers only (the gateway merges it into the
    # public document and serves the interactive docs), like everything else but its probes.
    app = FastAPI(title=f"{service} service", description=description, version=version, lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None, telemetry=telemetry())
    install_error_handlers(app)
    install_problem_openapi(app)
    install_idempotency(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    install_metrics(app, settings.metrics_token, feed=True)
    app.include_router(health_router())
    app.include_router(feed_router())
    app.include_router(identity_router())
    app.include_router(openapi_router(app))
    for router in routers:
        app.include_router(router)
    return app
