"""Pytest plugin: one throw-away database per test run, built by provisioning and migrations.

The server is TEST_DATABASE_URL when set, else a testcontainers container when Docker answers,
else an embedded PostgreSQL. Each run gets its own database and roles (random names), migrated
with every service's Alembic history, and removes them at the end. A run that skips a test or
collects none fails: a skipped test guards nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from svckit.ops.pgserver import test_server
from svckit.ops.throwaway import StackDatabase, throwaway_database

__all__ = ["KIT_SCHEMA", "StackDatabase"]

# A scratch schema for the library's own tests, holding only the library's tables.
KIT_SCHEMA = "kit"


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    with test_server() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def internal_secret() -> str:
    return secrets.token_urlsafe(48)


@pytest.fixture(scope="session")
def stack_db(pg_admin_dsn: str) -> Iterator[StackDatabase]:
    with throwaway_database(pg_admin_dsn, scratch_schemas=[KIT_SCHEMA]) as database:
        yield database


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and session.exitstatus == 0:
        if reporter:
            reporter.write_line(f"FAILED: {skipped} test(s) skipped; a skipped test guards nothing", red=True)
        session.exitstatus = 1
