"""App factory of the ledger service (run: uvicorn ledger_service.app:create_app --factory)."""

from fastapi import FastAPI

import ledger_service
from ledger_service.models import PLATFORM_TABLES, SCHEMA
from ledger_service.settings import LedgerSettings
from svckit.app import create_service_app
from svckit.db import Database
from svckit.migrations import alembic_ini_for

ALEMBIC_INI = alembic_ini_for(__file__, "services/ledger")


def create_app(settings: LedgerSettings | None = None, database: Database | None = None) -> FastAPI:
    return create_service_app(
        service="ledger",
        schema=SCHEMA,
        settings=settings or LedgerSettings(),
        tables=PLATFORM_TABLES,
        alembic_ini=ALEMBIC_INI,
        routers=[],
        description=ledger_service.__doc__ or "ledger",
        database=database,
    )
