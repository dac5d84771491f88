"""Alembic environment of the activity service (the shared body lives in svckit.migrations)."""

from activity_service.models import Base
from svckit.migrations import run_env

run_env(Base.metadata, dsn_env="ACTIVITY_DATABASE_URL")
