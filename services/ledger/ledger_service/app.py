"""App factory of the ledger service (run: uvicorn ledger_service.app:create_app --factory)."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

import ledger_service
from ledger_service.api import bank, debits, journal, payables, policies, receipts, receivables, setup
from ledger_service.models import DIRECTORY, PLATFORM_TABLES, SCHEMA
from ledger_service.settings import LedgerSettings
from svckit.app import Worker, create_service_app
from svckit.db import Database
from svckit.directory import keep_replica
from svckit.http import ServiceClient
from svckit.kit import ServiceKit
from svckit.migrations import alembic_ini_for

ALEMBIC_INI = alembic_ini_for(__file__, "services/ledger")


def org_follower(settings: LedgerSettings, transport: httpx.AsyncBaseTransport | None = None) -> Worker:
    """Keeps the ledger's copy of the organisation (for data scope) from org's change feed."""

    async def follow(kit: ServiceKit, stop: asyncio.Event) -> None:
        assert settings.org_url is not None
        org = ServiceClient(service="org", base_url=settings.org_url, caller_service="ledger",
                            secret=kit.internal_secret, transport=transport)
        try:
            await keep_replica(kit.db, PLATFORM_TABLES, DIRECTORY, org, stop, idle_seconds=settings.org_poll_seconds)
        finally:
            await org.aclose()

    return follow


def create_app(settings: LedgerSettings | None = None, database: Database | None = None,
               org_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    settings = settings or LedgerSettings()
    app = create_service_app(
        service="ledger",
        schema=SCHEMA,
        settings=settings,
        tables=PLATFORM_TABLES,
        alembic_ini=ALEMBIC_INI,
        routers=[setup.router, setup.rules_api, journal.router, policies.router, receivables.router, receipts.router,
                 payables.router, debits.router, bank.router],
        description=ledger_service.__doc__ or "ledger",
        database=database,
        workers=[org_follower(settings, org_transport)] if settings.org_url else [],
    )
    app.state.settings = settings
    return app
