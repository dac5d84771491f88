"""Every error is problem+json with a stable code; validation names the field; bodies are capped."""

import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from svckit.errors import ServiceUnavailable
from svckit.problems import SERVICE_ROUTE_STATUSES, problem_responses
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

    @router.get("/upstream-down")
    async def upstream_down() -> None:
        raise ServiceUnavailable("the org service cannot be reached", code="service_unavailable", service="org")

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    @router.get("/visits/{visit_id}", responses={404: {"description": "No visit with this id"},
                                                 **problem_responses(502)})
    async def read_visit(visit_id: int) -> dict[str, int]:
        return {"id": visit_id}

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


async def test_a_body_that_is_not_utf8_is_a_validation_problem_like_one_that_is_not_json(
    client: httpx.AsyncClient,
) -> None:
    not_json = await client.post("/v1/visits", content=b"{oops", headers={"content-type": "application/json"})
    not_utf8 = await client.post("/v1/visits", content=b"|\xff\x16\x07", headers={"content-type": "application/json"})
    for response in (not_json, not_utf8):
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "validation_failed"
        assert [e["rule"] for e in response.json()["errors"]] == ["json_invalid"]
    assert not_utf8.json()["errors"][0]["field"] == "body"


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


async def test_every_503_says_when_to_retry(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/upstream-down")
    assert (response.status_code, response.json()["code"]) == (503, "service_unavailable")
    assert response.headers["retry-after"] == "1"  # as every route's 503 declares


async def test_every_route_declares_the_problems_any_route_may_answer(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    operations = {(path, method): operation for path, item in doc["paths"].items()
                  for method, operation in item.items() if path.startswith(("/v1/", "/internal/"))}
    assert ("/v1/visits", "post") in operations
    assert len(operations) >= 5
    for (path, method), operation in operations.items():
        responses = operation["responses"]
        for status in SERVICE_ROUTE_STATUSES:
            content = responses[str(status)]["content"]
            assert set(content) == {"application/problem+json"}, (path, method, status)
            schema = content["application/problem+json"]["schema"]
            names = [s["$ref"].rsplit("/", 1)[1] for s in schema.get("anyOf", [schema])]
            assert names == (["ValidationProblem", "Problem"] if status == 422 else ["Problem"]), (path, status)
        assert "Retry-After" in responses["503"]["headers"], (path, method)
    read = operations[("/v1/visits/{visit_id}", "get")]["responses"]
    assert read["404"]["description"] == "No visit with this id"  # a route's own declaration is kept
    assert read["404"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    assert "502" in read
    assert "502" not in operations[("/v1/visits", "post")]["responses"]


async def test_the_problems_a_route_answers_are_ones_it_declares(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    answers = [
        ("/v1/visits", "post", await client.post("/v1/visits", json={"customer": "", "count": -1})),
        ("/v1/visits", "post", await client.post("/v1/visits", content=b"{" + b" " * 2048 + b"}",
                                                 headers={"content-type": "application/json"})),
        ("/v1/visits", "post", await client.post("/v1/visits", json={"customer": "x", "count": 1},
                                                 headers={"authorization": "Bearer nonsense"})),
        ("/v1/visits", "post", await client.post("/v1/visits", content=b"\xff\x16",
                                                 headers={"content-type": "application/json"})),
        ("/v1/unreachable-database", "get", await client.get("/v1/unreachable-database")),
        ("/v1/visits/{visit_id}", "get", await client.get("/v1/visits/not-a-number")),
    ]
    assert sorted(response.status_code for *_, response in answers) == [401, 413, 422, 422, 422, 503]
    for path, method, response in answers:
        assert str(response.status_code) in doc["paths"][path][method]["responses"], (path, response.status_code)
