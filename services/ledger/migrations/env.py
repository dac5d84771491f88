"""Alembic environment of the ledger service (the shared body lives in svckit.migrations)."""

from ledger_service.models import Base
from svckit.migrations import run_env

run_env(Base.metadata, dsn_env="LEDGER_DATABASE_URL")
