"""Each service's role reaches its own schema and nothing else."""

import asyncpg
import pytest

from svckit.ops.services import ALL
from svckit.testing.plugin import StackDatabase


@pytest.mark.parametrize("intruder", ["ledger", "activity", "performance", "gateway"])
async def test_a_service_role_cannot_read_org_tables(stack_db: StackDatabase, intruder: str) -> None:
    conn = await asyncpg.connect(stack_db.dsn(intruder))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM org.outbox_event")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE org.smuggled (id int)")
    finally:
        await conn.close()


async def test_each_role_owns_its_schema_and_sees_its_migrated_tables(stack_db: StackDatabase) -> None:
    for spec in ALL:
        conn = await asyncpg.connect(stack_db.dsn(spec.name))
        try:
            assert await conn.fetchval("SHOW search_path") == spec.name
            version = await conn.fetchval(f"SELECT version_num FROM {spec.name}.alembic_version")  # noqa: S608
            assert version.startswith(spec.name)
            await conn.fetch("SELECT id FROM outbox_event LIMIT 1")  # unqualified: resolves to its own schema
            owner = await conn.fetchval(
                "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1", spec.name)
            assert owner == stack_db.role(spec.name)
        finally:
            await conn.close()


async def test_service_roles_cannot_use_the_public_schema_or_escalate(stack_db: StackDatabase) -> None:
    conn = await asyncpg.connect(stack_db.dsn("ledger"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.leak (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE ROLE sneaky")
        assert not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    finally:
        await conn.close()
