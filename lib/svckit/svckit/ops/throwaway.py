"""A throw-away database for one test or benchmark run: every schema provisioned with random
role names, every service migrated to head, all of it dropped afterwards."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from svckit.db import async_url
from svckit.migrations import create_platform_tables_v1, upgrade_to_head
from svckit.ops.provision import drop, libpq_url, provision, render
from svckit.ops.services import ALL, repo_root


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


async def _create_library_tables(dsn: str, schema: str) -> None:
    engine = create_async_engine(async_url(dsn), poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(create_platform_tables_v1, schema)
    finally:
        await engine.dispose()


@contextmanager
def throwaway_database(admin_dsn: str, *, scratch_schemas: Iterable[str] = ()) -> Iterator[StackDatabase]:
    """Scratch schemas get only the library's tables (for testing the library itself)."""
    run = secrets.token_hex(4)
    database, prefix = f"test_{run}", f"t{run}_"
    scratch = list(scratch_schemas)
    schemas = [spec.name for spec in ALL] + scratch
    passwords = {schema: secrets.token_urlsafe(24) for schema in schemas}
    try:
        dsns = asyncio.run(provision(admin_dsn, database, schemas=schemas, passwords=passwords, role_prefix=prefix))
        root = repo_root(Path(__file__))
        for spec in ALL:
            upgrade_to_head(spec.alembic_ini(root), dsns[spec.name])
        for schema in scratch:
            asyncio.run(_create_library_tables(dsns[schema], schema))
        yield StackDatabase(admin_dsn, database, prefix, dsns)
    finally:
        asyncio.run(drop(admin_dsn, database, schemas=schemas, role_prefix=prefix))
