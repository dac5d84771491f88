"""App factory of the ledger service (run: uvicorn ledger_service.app:create_app --factory)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

import ledger_service
from ledger_service.api import bank, debits, due_soon, journal, payables, policies, receipts, receivables, setup
from ledger_service.models import DIRECTORY, PLATFORM_TABLES, SCHEMA
from ledger_service.settings import LedgerSettings
from svckit.app import create_service_app
from svckit.db import Database
from svckit.directory import org_follower
from svckit.migrations import alembic_ini_for

ALEMBIC_INI = alembic_ini_for(__file__, "services/ledger")


def create_app(settings: LedgerSettings | None = None, database: Database | None = None,
               org_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    settings = settings or LedgerSettings()
    app = create_service_app(
        service="ledger",
        schema=SCHEMA,
        settings=settings,
        tables=PLATFORM_TABLES,
        alembic_ini=ALEMBIC_INI,
        routers=[setup.router, setup.rules_api, journal.router, policies.router, due_soon.router, receivables.router,
                 receipts.router, payables.router, debits.router, bank.router],
        description=ledger_service.__doc__ or "ledger",
        database=database,
        workers=[org_follower("ledger", settings.org_url, PLATFORM_TABLES, DIRECTORY,
                              poll_seconds=settings.org_poll_seconds, transport=org_transport)]
        if settings.org_url else [],
    )
    app.state.settings = settings
    return app
