"""Pytest plugin: one throw-away database per test run, built by provisioning and migrations.

The server is TEST_DATABASE_URL when set, else a testcontainers container when Docker answers,
else an embedded PostgreSQL. Each run gets its own database and roles (random names), migrated
with every service's Alembic history, and removes them at the end. A run that skips a test or
collects none fails: a skipped test guards nothing.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from svckit.db import async_url
from svckit.migrations import create_platform_tables_v1, upgrade_to_head
from svckit.ops.pgserver import test_server
from svckit.ops.provision import drop, libpq_url, provision, render
from svckit.ops.services import ALL, repo_root

# A scratch schema for the library's own tests, holding only the library's tables.
KIT_SCHEMA = "kit"


@dataclass(frozen=True)
class StackDatabase:
    admin_dsn: str
    database: str
    role_prefix: str
    dsns: dict[str, str] = field(repr=False)

    def dsn(self, schema: str) -> str:
        return self.dsns[schema]

    def role(self, schema: str) -> str:
        return self.role_prefix + schema

    @property
    def database_admin_dsn(self) -> str:
        return render(libpq_url(self.admin_dsn).set(database=self.database))


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    with test_server() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def internal_secret() -> str:
    return secrets.token_urlsafe(48)


async def _create_kit_tables(dsn: str) -> None:
    engine = create_async_engine(async_url(dsn), poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(create_platform_tables_v1, KIT_SCHEMA)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def stack_db(pg_admin_dsn: str) -> Iterator[StackDatabase]:
    run = secrets.token_hex(4)
    database, prefix = f"test_{run}", f"t{run}_"
    schemas = [spec.name for spec in ALL] + [KIT_SCHEMA]
    passwords = {schema: secrets.token_urlsafe(24) for schema in schemas}
    dsns = asyncio.run(provision(pg_admin_dsn, database, schemas=schemas, passwords=passwords, role_prefix=prefix))
    try:
        root = repo_root(Path(__file__))
        for spec in ALL:
            upgrade_to_head(spec.alembic_ini(root), dsns[spec.name])
        asyncio.run(_create_kit_tables(dsns[KIT_SCHEMA]))
        yield StackDatabase(pg_admin_dsn, database, prefix, dsns)
    finally:
        asyncio.run(drop(pg_admin_dsn, database, schemas=schemas, role_prefix=prefix))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and session.exitstatus == 0:
        if reporter:
            reporter.write_line(f"FAILED: {skipped} test(s) skipped; a skipped test guards nothing", red=True)
        session.exitstatus = 1
