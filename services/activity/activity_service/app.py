"""App factory of the activity service (run: uvicorn activity_service.app:create_app --factory)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

import activity_service
from activity_service.api import coaching, customers, entries, meetings, plans, reports, setup
from activity_service.models import DIRECTORY, PLATFORM_TABLES, SCHEMA
from activity_service.settings import ActivitySettings
from svckit.app import create_service_app
from svckit.db import Database
from svckit.directory import org_follower
from svckit.http import ServiceClient
from svckit.migrations import alembic_ini_for

ALEMBIC_INI = alembic_ini_for(__file__, "services/activity")


def create_app(settings: ActivitySettings | None = None, database: Database | None = None,
               org_transport: httpx.AsyncBaseTransport | None = None, start_workers: bool = True,
               performance_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """`start_workers=False` leaves following org's feed to the caller (tests drain it step by step)."""
    settings = settings or ActivitySettings()
    app = create_service_app(
        service="activity",
        schema=SCHEMA,
        settings=settings,
        tables=PLATFORM_TABLES,
        alembic_ini=ALEMBIC_INI,
        routers=[setup.router, setup.rules_api, entries.router, customers.router, reports.router,
                 plans.router, meetings.router, coaching.router],
        description=activity_service.__doc__ or "activity",
        database=database,
        workers=[org_follower("activity", settings.org_url, PLATFORM_TABLES, DIRECTORY,
                              poll_seconds=settings.org_poll_seconds, transport=org_transport)]
        if settings.org_url and start_workers else [],
    )
    app.state.settings = settings
    # Org answers who owns a territory (inbound enquiries); called as the service itself.
    app.state.org = ServiceClient(service="org", base_url=settings.org_url, caller_service="activity",
                                  secret=settings.internal_token_secret.get_secret_value(),
                                  transport=org_transport) if settings.org_url else None
    # Performance answers a team's target (a team's plans must agree with it); called as the service itself.
    app.state.performance = ServiceClient(
        service="performance", base_url=settings.performance_url, caller_service="activity",
        secret=settings.internal_token_secret.get_secret_value(), transport=performance_transport,
    ) if settings.performance_url else None
    return app
