"""App factory of the performance service (run: uvicorn performance_service.app:create_app --factory)."""

from fastapi import FastAPI

import performance_service
from performance_service.models import PLATFORM_TABLES, SCHEMA
from performance_service.settings import PerformanceSettings
from svckit.app import create_service_app
from svckit.db import Database
from svckit.migrations import alembic_ini_for

ALEMBIC_INI = alembic_ini_for(__file__, "services/performance")


def create_app(settings: PerformanceSettings | None = None, database: Database | None = None) -> FastAPI:
    return create_service_app(
        service="performance",
        schema=SCHEMA,
        settings=settings or PerformanceSettings(),
        tables=PLATFORM_TABLES,
        alembic_ini=ALEMBIC_INI,
        routers=[],
        description=performance_service.__doc__ or "performance",
        database=database,
    )
