"""First-run bootstrap: one administrator, from the environment or with a password printed once."""

from __future__ import annotations

import asyncio
import io
import os
import re
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway_service import bootstrap
from gateway_service.app import ALEMBIC_INI, create_app
from gateway_service.models import SCHEMA, User
from gateway_service.settings import GatewaySettings
from svckit.db import Database
from svckit.migrations import upgrade_to_head
from svckit.ops.provision import drop, provision
from svckit.testing.asgi import running
from svckit.testing.plugin import StackDatabase


@pytest.fixture
async def empty_gateway_dsn(stack_db: StackDatabase) -> AsyncIterator[str]:
    """A database of its own holding only a migrated, empty gateway schema: "no administrator yet"
    cannot be arranged in the shared test database, where other tests create administrators."""
    run = secrets.token_hex(4)
    database, prefix = f"test_boot_{run}", f"tb{run}_"
    dsns = await provision(stack_db.admin_dsn, database, schemas=[SCHEMA],
                           passwords={SCHEMA: secrets.token_urlsafe(24)}, role_prefix=prefix)
    try:
        upgrade_to_head(ALEMBIC_INI, dsns[SCHEMA])
        yield dsns[SCHEMA]
    finally:
        await drop(stack_db.admin_dsn, database, schemas=[SCHEMA], role_prefix=prefix)


def settings_for(dsn: str, internal_secret: str, jwt_secret: str, **values: object) -> GatewaySettings:
    return GatewaySettings(database_url=dsn, INTERNAL_TOKEN_SECRET=internal_secret, jwt_secret=jwt_secret,
                           partner_master_key=secrets.token_urlsafe(40),
                           **{"admin_password": None, **values})  # type: ignore[arg-type]


async def users(dsn: str) -> list[User]:
    db = Database.connect(dsn, schema=SCHEMA)
    try:
        async with db.sessionmaker() as session:
            return list((await session.execute(select(User))).scalars())
    finally:
        await db.dispose()


async def can_log_in(settings: GatewaySettings, username: str, password: str) -> bool:
    async with running(create_app(settings, transports={})) as client:
        response = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    return response.status_code == 200


async def test_creates_the_admin_from_the_environment_once(
    empty_gateway_dsn: str, internal_secret: str, jwt_secret: str,
) -> None:
    settings = settings_for(empty_gateway_dsn, internal_secret, jwt_secret, admin_username="Root",
                            admin_password="a long chosen passphrase")
    first, second = io.StringIO(), io.StringIO()

    assert await bootstrap.run(settings, out=first) == 0
    assert await bootstrap.run(settings, out=second) == 0

    created = await users(empty_gateway_dsn)
    assert [(u.username, u.roles, u.active) for u in created] == [("root", ["admin"], True)]
    assert "a long chosen passphrase" not in created[0].password_hash
    assert "created" in first.getvalue()
    assert "a long chosen passphrase" not in first.getvalue()
    assert "nothing to do" in second.getvalue()
    assert await can_log_in(settings, "root", "a long chosen passphrase")


async def test_without_a_password_one_is_generated_and_printed_once(
    empty_gateway_dsn: str, internal_secret: str, jwt_secret: str,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_DATABASE_URL=empty_gateway_dsn, INTERNAL_TOKEN_SECRET=internal_secret,
               GATEWAY_JWT_SECRET=jwt_secret, GATEWAY_PARTNER_MASTER_KEY=secrets.token_urlsafe(40))

    async def run_cli() -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway_service.bootstrap", env=env, cwd=Path(ALEMBIC_INI).parent,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode is not None
        return process.returncode, out.decode() + err.decode()

    code, printed = await run_cli()
    assert code == 0, printed
    match = re.search(r"username: (\S+)\s+password: (\S+)", printed)
    assert match is not None, printed
    username, password = match.groups()
    assert username == "admin"
    assert len(password) >= 20
    settings = settings_for(empty_gateway_dsn, internal_secret, jwt_secret)
    assert await can_log_in(settings, username, password)

    code, again = await run_cli()
    assert code == 0
    assert password not in again  # shown once, never again
    assert "nothing to do" in again
    assert len(await users(empty_gateway_dsn)) == 1


async def test_concurrent_first_runs_create_one_administrator(empty_gateway_dsn: str) -> None:
    db = Database.connect(empty_gateway_dsn, schema=SCHEMA)
    try:
        # Different names, so only the bootstrap's lock (not a unique constraint) can keep this to one.
        outcomes = await asyncio.gather(*(bootstrap.ensure_admin(db, f"admin{i}", None) for i in range(3)))
    finally:
        await db.dispose()
    assert sum(outcome.created for outcome in outcomes) == 1
    assert len(await users(empty_gateway_dsn)) == 1


async def test_a_weak_environment_password_is_refused(
    empty_gateway_dsn: str, internal_secret: str, jwt_secret: str,
) -> None:
    settings = settings_for(empty_gateway_dsn, internal_secret, jwt_secret, admin_password="short")
    assert await bootstrap.run(settings, out=io.StringIO()) == 2
    assert await users(empty_gateway_dsn) == []
