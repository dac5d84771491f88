"""App factory of the org service (run: uvicorn org_service.app:create_app --factory)."""

from pathlib import Path

from fastapi import FastAPI

from org_service.models import PLATFORM_TABLES, SCHEMA
from org_service.settings import OrgSettings
from svckit.app import create_service_app
from svckit.db import Database

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def create_app(settings: OrgSettings | None = None, database: Database | None = None) -> FastAPI:
    return create_service_app(
        service="org",
        schema=SCHEMA,
        settings=settings or OrgSettings(),
        tables=PLATFORM_TABLES,
        alembic_ini=ALEMBIC_INI,
        routers=[],
        description="Organisation 组织: institutions, teams, agents, ranks, bloodline and the team workflow; who belongs where on any date.",
        database=database,
    )
