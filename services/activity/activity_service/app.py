"""App factory of the activity service (run: uvicorn activity_service.app:create_app --factory)."""

from fastapi import FastAPI

import activity_service
from activity_service.models import PLATFORM_TABLES, SCHEMA
from activity_service.settings import ActivitySettings
from svckit.app import create_service_app
from svckit.db import Database
from svckit.migrations import alembic_ini_for

ALEMBIC_INI = alembic_ini_for(__file__, "services/activity")


def create_app(settings: ActivitySettings | None = None, database: Database | None = None) -> FastAPI:
    return create_service_app(
        service="activity",
        schema=SCHEMA,
        settings=settings or ActivitySettings(),
        tables=PLATFORM_TABLES,
        alembic_ini=ALEMBIC_INI,
        routers=[],
        description=activity_service.__doc__ or "activity",
        database=database,
    )
