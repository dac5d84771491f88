"""How `make run` decides where each service's database is, and what each process is told."""

import asyncio
from contextlib import ExitStack
from pathlib import Path

import asyncpg
import pytest

from svckit.ops.provision import drop, libpq_url, render
from svckit.ops.services import ALL, GATEWAY, SERVICES, ServiceSpec
from svckit.ops.stack import load_secrets, resolve_databases, service_env


def test_per_service_dsns_are_used_as_given_without_touching_any_server(tmp_path: Path) -> None:
    env = {spec.dsn_env: f"postgresql://{spec.name}:pw@db-{spec.name}.invalid:5432/app" for spec in ALL}
    with ExitStack() as resources:
        dsns = resolve_databases(env, tmp_path, resources)
    assert dsns == {spec.name: env[spec.dsn_env] for spec in ALL}
    assert not (tmp_path / "pg").exists()  # no embedded server was started


def test_database_url_provisions_only_services_without_a_dsn(pg_admin_dsn: str, tmp_path: Path) -> None:
    database, prefix = "runner_check", "rc_"
    given = "postgresql://someone:pw@elsewhere.invalid/app"
    env = {**load_secrets(tmp_path), "DATABASE_URL": render(libpq_url(pg_admin_dsn).set(database=database)),
           "STACK_ROLE_PREFIX": prefix, "LEDGER_DATABASE_URL": given}
    try:
        with ExitStack() as resources:
            dsns = resolve_databases(env, tmp_path, resources)
        assert dsns["ledger"] == given
        assert {name for name, dsn in dsns.items() if dsn != given} == {s.name for s in ALL} - {"ledger"}

        async def schemas() -> set[str]:
            conn = await asyncpg.connect(dsns["org"])
            try:
                return {r[0] for r in await conn.fetch("SELECT nspname FROM pg_namespace")}
            finally:
                await conn.close()

        found = asyncio.run(schemas())
        assert {"org", "performance", "activity", "gateway"} <= found
        assert "ledger" not in found
    finally:
        asyncio.run(drop(pg_admin_dsn, database, schemas=[s.name for s in ALL], role_prefix=prefix))


def test_secrets_are_generated_once_private_and_strong(tmp_path: Path) -> None:
    first = load_secrets(tmp_path)
    assert load_secrets(tmp_path) == first
    assert (tmp_path / "secrets.env").stat().st_mode & 0o777 == 0o600
    assert all(len(value) >= 32 for value in first.values())
    assert len(set(first.values())) == len(first)
    assert {"INTERNAL_TOKEN_SECRET", "GATEWAY_JWT_SECRET", "GATEWAY_PARTNER_MASTER_KEY"} <= first.keys()


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_a_service_process_gets_only_its_own_credentials(spec: ServiceSpec) -> None:
    env = {"DATABASE_URL": "postgresql://admin@x/db", "INTERNAL_TOKEN_SECRET": "i" * 40,
           "GATEWAY_JWT_SECRET": "j" * 40, "GATEWAY_PARTNER_MASTER_KEY": "m" * 40,
           **{f"{s.env_prefix}DB_PASSWORD": "pw" for s in ALL}}
    dsns = {s.name: f"postgresql://{s.name}@x/db" for s in ALL}
    child = service_env(spec, env, dsns)
    assert child[spec.dsn_env] == dsns[spec.name]
    leaked = {k for k in child if k.endswith("DATABASE_URL") or k.endswith("DB_PASSWORD")}
    assert leaked == {spec.dsn_env}
    assert "GATEWAY_JWT_SECRET" not in child
    assert "GATEWAY_PARTNER_MASTER_KEY" not in child
    assert child["INTERNAL_TOKEN_SECRET"] == "i" * 40


def test_the_gateway_process_learns_where_the_services_are() -> None:
    env = {"ORG_PORT": "9101", "INTERNAL_TOKEN_SECRET": "i" * 40, "GATEWAY_JWT_SECRET": "j" * 40}
    child = service_env(GATEWAY, env, {s.name: "postgresql://x@y/z" for s in ALL})
    assert child["GATEWAY_ORG_URL"] == "http://127.0.0.1:9101"
    assert child["GATEWAY_LEDGER_URL"] == "http://127.0.0.1:8004"
    assert child["GATEWAY_JWT_SECRET"] == "j" * 40
