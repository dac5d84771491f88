"""App factory of the performance service (run: uvicorn performance_service.app:create_app --factory)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

import performance_service
from performance_service import runs
from performance_service.api import (
    assessments,
    contests,
    disputes,
    facts,
    gaps,
    persistency,
    progress,
    rankings,
    rule_sets,
    settlements,
    statements,
    targets,
)
from performance_service.followers import follow_activity, follow_ledger, follow_org
from performance_service.models import PLATFORM_TABLES, SCHEMA
from performance_service.settings import PerformanceSettings
from performance_service.upstream import Upstreams
from svckit.app import Worker, create_service_app
from svckit.db import Database
from svckit.http import ServiceClient
from svckit.migrations import alembic_ini_for
from svckit.timeutil import utcnow

ALEMBIC_INI = alembic_ini_for(__file__, "services/performance")


def upstreams(settings: PerformanceSettings, org_transport: httpx.AsyncBaseTransport | None = None,
              ledger_transport: httpx.AsyncBaseTransport | None = None) -> Upstreams:
    secret = settings.internal_token_secret.get_secret_value()
    timeout = httpx.Timeout(settings.settlement_timeout_s, connect=5.0)

    def client(service: str, url: str | None, transport: httpx.AsyncBaseTransport | None) -> ServiceClient | None:
        if url is None:
            return None
        return ServiceClient(service=service, base_url=url, caller_service="performance", secret=secret,
                             timeout=timeout, transport=transport)

    return Upstreams(client("org", settings.org_url, org_transport),
                     client("ledger", settings.ledger_url, ledger_transport))


def create_app(settings: PerformanceSettings | None = None, database: Database | None = None,
               org_transport: httpx.AsyncBaseTransport | None = None,
               ledger_transport: httpx.AsyncBaseTransport | None = None, follow: bool = True,
               activity_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """`follow=False` leaves the feeds to the caller (tests drain them explicitly)."""
    settings = settings or PerformanceSettings()
    up = upstreams(settings, org_transport, ledger_transport)
    workers: list[Worker] = [up.closer(), runs.abandoned_runs]
    if follow and up.org is not None:
        workers.append(follow_org(up.org, settings.poll_seconds))
    if follow and up.ledger is not None:
        workers.append(follow_ledger(up.ledger, settings.poll_seconds))
    if follow and settings.activity_url is not None:
        activity = ServiceClient(service="activity", base_url=settings.activity_url, caller_service="performance",
                                 secret=settings.internal_token_secret.get_secret_value(), transport=activity_transport)
        workers.append(follow_activity(activity, settings.poll_seconds))
    app = create_service_app(
        service="performance",
        schema=SCHEMA,
        settings=settings,
        tables=PLATFORM_TABLES,
        alembic_ini=ALEMBIC_INI,
        routers=[facts.router, rule_sets.router, settlements.router, statements.router, disputes.router,
                 gaps.router, rankings.router, assessments.router, targets.router,
                 persistency.router, contests.router, progress.router],
        description=performance_service.__doc__ or "performance",
        database=database,
        workers=workers,
    )
    app.state.settings = settings
    app.state.upstreams = up
    app.state.clock = utcnow  # which periods are closed; tests move it
    return app
