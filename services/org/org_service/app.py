"""App factory of the org service (run: uvicorn org_service.app:create_app --factory)."""

from fastapi import FastAPI

import org_service
from org_service.api import agents, directory, fission, structure, territories, workflow
from org_service.models import PLATFORM_TABLES, SCHEMA
from org_service.settings import OrgSettings
from svckit.app import create_service_app
from svckit.db import Database
from svckit.migrations import alembic_ini_for

ALEMBIC_INI = alembic_ini_for(__file__, "services/org")


def create_app(settings: OrgSettings | None = None, database: Database | None = None) -> FastAPI:
    return create_service_app(
        service="org",
        schema=SCHEMA,
        settings=settings or OrgSettings(),
        tables=PLATFORM_TABLES,
        alembic_ini=ALEMBIC_INI,
        routers=[structure.router, agents.router, territories.router, workflow.router, fission.router,
                 directory.router],
        description=org_service.__doc__ or "org",
        database=database,
    )
