"""What every service promises: no entry without an internal token, identity forwarded,
readiness that knows its migration head, problem+json errors."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from activity_service.app import create_app as create_activity
from activity_service.settings import ActivitySettings
from ledger_service.app import create_app as create_ledger
from ledger_service.settings import LedgerSettings
from org_service.app import create_app as create_org
from org_service.settings import OrgSettings
from performance_service.app import create_app as create_performance
from performance_service.settings import PerformanceSettings
from svckit.problems import HTTP_METHODS, SERVICE_ROUTE_STATUSES
from svckit.testing.asgi import internal_headers, running
from svckit.testing.plugin import StackDatabase

FACTORIES: dict[str, tuple[Callable[..., FastAPI], Any]] = {
    "org": (create_org, OrgSettings),
    "performance": (create_performance, PerformanceSettings),
    "activity": (create_activity, ActivitySettings),
    "ledger": (create_ledger, LedgerSettings),
}


def build(name: str, stack_db: StackDatabase, secret: str) -> FastAPI:
    factory, settings = FACTORIES[name]
    return factory(settings(database_url=stack_db.dsn(name), INTERNAL_TOKEN_SECRET=secret))


@pytest.mark.parametrize("name", sorted(FACTORIES))
async def test_no_internal_token_no_entry(name: str, stack_db: StackDatabase, internal_secret: str) -> None:
    async with running(build(name, stack_db, internal_secret)) as client:
        for path in ("/v1/caller", "/internal/feed"):
            response = await client.get(path)
            assert response.status_code == 401, path
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "internal_token_missing"
        other_service = internal_headers(internal_secret, "gateway")  # a token minted for someone else
        assert (await client.get("/v1/caller", headers=other_service)).json()["code"] == "internal_token_audience"


@pytest.mark.parametrize("name", sorted(FACTORIES))
async def test_the_forwarded_identity_reaches_the_service(
    name: str, stack_db: StackDatabase, internal_secret: str
) -> None:
    async with running(build(name, stack_db, internal_secret)) as client:
        headers = internal_headers(internal_secret, name, user_id="u-42", username="wang.fang",
                                   roles=frozenset({"supervisor", "agent"}))
        body = (await client.get("/v1/caller", headers=headers)).json()
    assert body == {"service": name, "caller_service": "gateway", "user_id": "u-42", "username": "wang.fang",
                    "roles": ["agent", "supervisor"], "request_id": None}


@pytest.mark.parametrize("name", sorted(FACTORIES))
async def test_readiness_reports_the_migration_head(name: str, stack_db: StackDatabase, internal_secret: str) -> None:
    async with running(build(name, stack_db, internal_secret)) as client:
        ready = await client.get("/readyz")
        live = await client.get("/healthz")
    assert live.json() == {"status": "ok", "service": name}
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["migration"]["at_head"] is True
    assert body["migration"]["current"] == body["migration"]["head"]
    assert body["migration"]["head"][0].startswith(f"{name}_")


async def test_readiness_fails_when_the_schema_is_behind(stack_db: StackDatabase, internal_secret: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(stack_db.dsn("ledger"))
    current = await conn.fetchval("SELECT version_num FROM ledger.alembic_version")
    try:
        await conn.execute("UPDATE ledger.alembic_version SET version_num = 'ledger_0000'")
        async with running(build("ledger", stack_db, internal_secret)) as client:
            response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["status"] == "migrations_pending"
    finally:
        await conn.execute("UPDATE ledger.alembic_version SET version_num = $1", current)
        await conn.close()


@pytest.mark.parametrize("name", sorted(FACTORIES))
async def test_each_services_openapi_describes_errors_as_problems(
    name: str, stack_db: StackDatabase, internal_secret: str
) -> None:
    async with running(build(name, stack_db, internal_secret)) as client:
        assert (await client.get("/openapi.json")).status_code == 401
        assert (await client.get("/docs")).status_code == 404  # the gateway serves the docs
        doc = (await client.get("/openapi.json", headers=internal_headers(internal_secret, name))).json()
    feed = doc["paths"]["/internal/feed"]["get"]["responses"]
    assert set(feed["401"]["content"]) == {"application/problem+json"}
    assert feed["401"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    # A 422 is a validation problem naming each field, or a plain problem a business rule answered.
    unprocessable = feed["422"]["content"]["application/problem+json"]["schema"]["anyOf"]
    assert [s["$ref"].rsplit("/", 1)[1] for s in unprocessable] == ["ValidationProblem", "Problem"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]


# The probes are for orchestrators and answer plain JSON; every other route is the service's API.
PROBES = {"/healthz", "/readyz"}


@pytest.mark.parametrize("name", sorted(FACTORIES))
async def test_every_route_declares_the_problems_any_route_may_answer(
    name: str, stack_db: StackDatabase, internal_secret: str
) -> None:
    """Built with `service_router`, a route declares 401, 403, 404, 409, 413, 422 and 503 as problems;
    a route on a router of its own would not, and the gateway's fuzzer would find its answers undeclared."""
    async with running(build(name, stack_db, internal_secret)) as client:
        doc = (await client.get("/openapi.json", headers=internal_headers(internal_secret, name))).json()
    operations = [(path, method, operation) for path, item in doc["paths"].items() if path not in PROBES
                  for method, operation in item.items() if method in HTTP_METHODS]
    assert len(operations) > 10
    lacking = [(method.upper(), path, status) for path, method, operation in operations
               for status in SERVICE_ROUTE_STATUSES
               if "application/problem+json" not in operation["responses"].get(str(status), {}).get("content", {})]
    assert lacking == []
    assert not [path for path, method, operation in operations
                if "Retry-After" not in operation["responses"]["503"].get("headers", {})]
