"""Alembic environment of the org service (the shared body lives in svckit.migrations)."""

from org_service.models import Base
from svckit.migrations import run_env

run_env(Base.metadata, dsn_env="ORG_DATABASE_URL")
