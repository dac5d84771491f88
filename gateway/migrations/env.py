"""Alembic environment of the gateway (the shared body lives in svckit.migrations)."""

from gateway_service.models import Base
from svckit.migrations import run_env

run_env(Base.metadata, dsn_env="GATEWAY_DATABASE_URL")
