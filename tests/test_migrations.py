"""Each service's ORM models and its migration history describe the same schema, and an
autogenerate run against a migrated database finds nothing to do."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from activity_service.models import Base as ActivityBase
from gateway_service.models import Base as GatewayBase
from ledger_service.models import Base as LedgerBase
from org_service.models import Base as OrgBase
from performance_service.models import Base as PerformanceBase
from svckit.db import async_url
from svckit.testing.plugin import StackDatabase

METADATA: dict[str, MetaData] = {
    "org": OrgBase.metadata, "performance": PerformanceBase.metadata, "activity": ActivityBase.metadata,
    "ledger": LedgerBase.metadata, "gateway": GatewayBase.metadata,
}


def _differences(connection: Connection, schema: str) -> list[Any]:
    def ours(name: str | None, kind: str, parents: Any) -> bool:
        return kind != "schema" or name == schema

    context = MigrationContext.configure(connection, opts={
        "include_schemas": True, "include_name": ours, "version_table_schema": schema, "compare_type": True,
    })
    return list(compare_metadata(context, METADATA[schema]))


@pytest.mark.parametrize("schema", sorted(METADATA))
async def test_models_match_the_migrated_database(stack_db: StackDatabase, schema: str) -> None:
    # The same connection settings as svckit.migrations.run_env uses for autogenerate.
    engine = create_async_engine(async_url(stack_db.dsn(schema)), poolclass=NullPool,
                                 connect_args={"server_settings": {"search_path": "pg_catalog"}})
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences, schema)
    finally:
        await engine.dispose()
    assert differences == []
