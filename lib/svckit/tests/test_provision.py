"""Provisioning works for an admin that is not a superuser, and is safe to run twice."""

import secrets

import asyncpg
import pytest

from svckit.ops.provision import drop, libpq_url, provision, render


async def test_a_createrole_admin_provisions_isolated_schemas_twice(pg_admin_dsn: str) -> None:
    run = secrets.token_hex(3)
    admin_role, database, prefix = f"p{run}_admin", f"prov_{run}", f"p{run}_"
    password = secrets.token_urlsafe(16)
    su = await asyncpg.connect(render(libpq_url(pg_admin_dsn).set(database="postgres")))
    await su.execute(f'CREATE ROLE "{admin_role}" LOGIN CREATEDB CREATEROLE PASSWORD \'{password}\'')
    admin_dsn = render(libpq_url(pg_admin_dsn).set(username=admin_role, password=password))
    schemas = ["org", "ledger"]
    try:
        passwords = {s: secrets.token_urlsafe(16) for s in schemas}
        await provision(admin_dsn, database, schemas=schemas, passwords=passwords, role_prefix=prefix)
        dsns = await provision(admin_dsn, database, schemas=schemas, passwords=passwords, role_prefix=prefix)

        org = await asyncpg.connect(dsns["org"])
        await org.execute("CREATE TABLE agent (id int)")
        await org.close()
        ledger = await asyncpg.connect(dsns["ledger"])
        try:
            assert await ledger.fetchval("SELECT current_user") == f"{prefix}ledger"
            assert not await ledger.fetchval("SELECT has_schema_privilege('org', 'USAGE')")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await ledger.fetch("SELECT * FROM org.agent")
        finally:
            await ledger.close()
    finally:
        await drop(pg_admin_dsn, database, schemas=schemas, role_prefix=prefix)
        await su.execute(f'DROP ROLE IF EXISTS "{admin_role}"')
        await su.close()
