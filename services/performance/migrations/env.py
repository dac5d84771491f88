"""Alembic environment of the performance service (the shared body lives in svckit.migrations)."""

from performance_service.models import Base
from svckit.migrations import run_env

run_env(Base.metadata, dsn_env="PERFORMANCE_DATABASE_URL")
