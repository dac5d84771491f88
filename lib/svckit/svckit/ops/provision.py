"""Create the database, one schema per service and one login role per service with rights on
its own schema only. Idempotent: running it again changes nothing but role passwords."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import asyncpg
from sqlalchemy.engine import URL, make_url


def libpq_url(dsn: str | URL) -> URL:
    url = make_url(dsn) if isinstance(dsn, str) else dsn
    return url.set(drivername="postgresql")


def render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum() or not name[0].isalpha() or len(name) > 63:
        raise ValueError(f"unsafe identifier {name!r}")
    return f'"{name}"'


async def provision(
    admin_dsn: str, database: str, *, schemas: Iterable[str], passwords: Mapping[str, str], role_prefix: str = "",
) -> dict[str, str]:
    """Returns each schema's DSN (same server, the schema's own role, the target database)."""
    admin = libpq_url(admin_dsn)
    # The target database may not exist yet, so ask the maintenance database about it.
    conn = await asyncpg.connect(render(admin.set(database="postgres")))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f"CREATE DATABASE {_ident(database)}")
    finally:
        await conn.close()

    dsns: dict[str, str] = {}
    conn = await asyncpg.connect(render(admin.set(database=database)))
    try:
        superuser = await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        async with conn.transaction():
            # Nobody gets anything by default: not the database, not the public schema.
            await conn.execute(f"REVOKE ALL ON DATABASE {_ident(database)} FROM PUBLIC")
            await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            for schema in schemas:
                role = f"{role_prefix}{schema}"
                password = await conn.fetchval("SELECT quote_literal($1)", passwords[schema])
                existing = await conn.fetchrow("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", role)
                if existing is None:
                    await conn.execute(
                        f"CREATE ROLE {_ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT"
                        f" NOREPLICATION NOBYPASSRLS PASSWORD {password}"
                    )
                elif existing["rolsuper"] or existing["rolbypassrls"]:
                    raise RuntimeError(f"role {role} exists with superuser rights; a service role must not have them")
                else:
                    await conn.execute(f"ALTER ROLE {_ident(role)} WITH LOGIN PASSWORD {password}")
                if not superuser:
                    # Since PostgreSQL 16 a CREATEROLE admin may only hand a schema to a role it can SET ROLE to.
                    await conn.execute(f"GRANT {_ident(role)} TO CURRENT_USER")
                await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {_ident(database)} TO {_ident(role)}")
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)} AUTHORIZATION {_ident(role)}")
                await conn.execute(f"ALTER SCHEMA {_ident(schema)} OWNER TO {_ident(role)}")
                await conn.execute(
                    f"ALTER ROLE {_ident(role)} IN DATABASE {_ident(database)} SET search_path = {_ident(schema)}"
                )
                dsns[schema] = render(admin.set(username=role, password=passwords[schema], database=database))
    finally:
        await conn.close()
    return dsns


async def drop(admin_dsn: str, database: str, *, schemas: Iterable[str], role_prefix: str) -> None:
    """Remove a database made by `provision` and its roles (used for throw-away test databases)."""
    admin = libpq_url(admin_dsn)
    conn = await asyncpg.connect(render(admin.set(database="postgres")))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_ident(database)} WITH (FORCE)")
        for schema in schemas:
            await conn.execute(f"DROP ROLE IF EXISTS {_ident(role_prefix + schema)}")
    finally:
        await conn.close()
