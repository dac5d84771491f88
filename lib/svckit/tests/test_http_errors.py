"""Every error is problem+json with a stable code; validation names the field; bodies are capped."""

import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from svckit.routing import service_router
from svckit.testing.asgi import internal_headers, running
from svckit.testing.plugin import StackDatabase

from .conftest import kit_app


class Visit(BaseModel):
    customer: str = Field(min_length=1)
    count: int = Field(ge=0)


def visits_router():  # type: ignore[no-untyped-def]
    router = service_router(prefix="/v1")

    @router.post("/visits")
    async def log_visit(body: Visit) -> dict[str, int]:
        return {"count": body.count}

    @router.get("/unreachable-database")
    async def unreachable() -> None:
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        engine = create_async_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{port}/nothing")
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    return router


@pytest.fixture
async def client(stack_db: StackDatabase, internal_secret: str) -> AsyncIterator[httpx.AsyncClient]:
    app = kit_app(stack_db, internal_secret, [visits_router()], max_body_bytes=1024)
    async with running(app) as c:
        c.headers.update(internal_headers(internal_secret, "kit"))
        yield c


async def test_validation_errors_name_each_field_and_rule(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/visits", json={"customer": "", "count": -1})
    assert response.status_code == 422
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert body["code"] == "validation_failed"
    assert {(e["field"], e["rule"]) for e in body["errors"]} == {
        ("customer", "string_too_short"), ("count", "greater_than_equal")}


async def test_unknown_routes_and_methods_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/nothing-here")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    wrong = await client.delete("/v1/visits")
    assert (wrong.status_code, wrong.json()["code"]) == (405, "method_not_allowed")


async def test_an_unexpected_failure_is_a_500_problem_without_internals(stack_db: StackDatabase,
                                                                          internal_secret: str) -> None:
    app = kit_app(stack_db, internal_secret, [visits_router()])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://kit") as c:
            response = await c.get("/v1/boom", headers=internal_headers(internal_secret, "kit"))
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "passwd" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_bodies_over_the_limit_get_413_declared_or_streamed(client: httpx.AsyncClient) -> None:
    big = b'{"customer": "' + b"x" * 2048 + b'", "count": 1}'
    declared = await client.post("/v1/visits", content=big, headers={"content-type": "application/json"})
    assert (declared.status_code, declared.json()["code"]) == (413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b" " * 256

    streamed = await client.post("/v1/visits", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


async def test_request_ids_are_kept_when_sane_and_replaced_when_not(client: httpx.AsyncClient) -> None:
    kept = await client.get("/healthz", headers={"X-Request-ID": "mobile-2026-abcdef"})
    assert kept.headers["x-request-id"] == "mobile-2026-abcdef"
    replaced = await client.get("/healthz", headers={"X-Request-ID": "bad\nid"})
    assert replaced.headers["x-request-id"] != "bad\nid"
    assert len(replaced.headers["x-request-id"]) == 32


async def test_a_database_out_of_reach_is_a_503_to_retry(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/unreachable-database")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == "database_unavailable"
