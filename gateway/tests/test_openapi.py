"""One merged OpenAPI document: the gateway's own paths and every service's, with nothing dangling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from gateway_service.openapi import FORWARDED_STATUSES, PARTNER_STATUSES, merge
from gateway_service.testing import GatewayFactory, closed_port
from svckit.problems import SERVICE_ROUTE_STATUSES


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def resolves(doc: dict[str, Any], ref: str) -> bool:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete", "head", "options"}:
                yield path, method, operation


async def test_merged_document_has_gateway_and_service_paths_and_no_dangling_refs(
    gateway: httpx.AsyncClient,
) -> None:
    response = await gateway.get("/openapi.json")

    assert response.status_code == 200
    doc = response.json()
    assert {"/api/v1/auth/login", "/api/v1/auth/users", "/api/v1/org/v1/caller",
            "/api/v1/ledger/v1/caller"} <= doc["paths"].keys()
    assert doc["x-unavailable-services"] == []
    all_refs = list(refs(doc))
    assert all_refs  # the check below must have something to check
    assert [ref for ref in all_refs if not resolves(doc, ref)] == []
    assert "org.CallerRead" in doc["components"]["schemas"]
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))


async def test_service_internals_are_not_published(gateway: httpx.AsyncClient) -> None:
    paths = (await gateway.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if "/internal/" in p or (p.endswith(("/healthz", "/readyz"))
                and p.startswith("/api/v1/"))]
    assert not [p for p in paths if "{service}" in p]  # the catch-all proxy route itself is hidden
    schemas = (await gateway.get("/openapi.json")).json()["components"]["schemas"]
    assert "org.FeedPage" not in schemas  # only used by /internal/feed


async def test_bearer_auth_is_described_and_required_where_it_applies(gateway: httpx.AsyncClient) -> None:
    doc = (await gateway.get("/openapi.json")).json()
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    secured = {(path, method) for path, method, op in operations(doc) if op.get("security")}
    assert ("/api/v1/org/v1/caller", "get") in secured
    assert ("/api/v1/auth/me", "get") in secured
    assert ("/api/v1/auth/login", "post") not in secured


async def test_errors_are_documented_as_problem_json(gateway: httpx.AsyncClient) -> None:
    doc = (await gateway.get("/openapi.json")).json()
    login_errors = doc["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert "application/problem+json" in login_errors["401"]["content"]
    # A 422 is a validation problem naming each field, or a plain problem a business rule answered.
    unprocessable = login_errors["422"]["content"]["application/problem+json"]["schema"]["anyOf"]
    assert [s["$ref"].rsplit("/", 1)[1] for s in unprocessable] == ["ValidationProblem", "Problem"]
    caller = doc["paths"]["/api/v1/org/v1/caller"]["get"]["responses"]
    assert {"401", "413", "502", "503", "504"} <= caller.keys()
    assert caller["401"]["description"].startswith("Missing, invalid or expired access token")


def problem_statuses(operation: dict[str, Any]) -> set[str]:
    return {status for status, response in operation["responses"].items()
            if "application/problem+json" in response.get("content", {})}


async def test_every_forwarded_operation_declares_what_the_service_and_the_gateway_may_answer(
    gateway: httpx.AsyncClient,
) -> None:
    """The services' central problems and what the gateway itself answers when it forwards (413, 502,
    503, 504; 429 too on the partner's rate-limited prefix): a status the fuzzer meets is a declared one."""
    doc = (await gateway.get("/openapi.json")).json()
    central = {str(status) for status in SERVICE_ROUTE_STATUSES}
    forwarded = [(path, method, op) for path, method, op in operations(doc)
                 if path.startswith(("/api/v1/org/", "/api/v1/performance/", "/api/v1/activity/", "/api/v1/ledger/"))]
    partner = [(path, method, op) for path, method, op in operations(doc) if path.startswith("/api/v1/partner/bank/")]
    assert len(forwarded) > 100
    assert partner
    assert [(m, p) for p, m, op in forwarded if not central | set(FORWARDED_STATUSES) <= problem_statuses(op)] == []
    assert [(m, p) for p, m, op in partner if not central | set(PARTNER_STATUSES) <= problem_statuses(op)] == []
    assert not [p for p, _, op in forwarded + partner if "Retry-After" not in op["responses"]["503"].get("headers", {})]
    assert "Retry-After" in partner[0][2]["responses"]["429"]["headers"]
    # The gateway's own API operations: its body limit, and its database out of reach.
    own = [(path, method, op) for path, method, op in operations(doc) if path.startswith("/api/v1/auth/")]
    assert own
    assert [(m, p) for p, m, op in own if not {"413", "422", "503"} <= problem_statuses(op)] == []


async def test_a_service_that_is_down_is_listed_not_fatal(
    start_gateway: GatewayFactory, service_transports: dict[str, httpx.AsyncBaseTransport],
) -> None:
    transports = {k: v for k, v in service_transports.items() if k != "ledger"}
    async with start_gateway(transports=transports, ledger_url=f"http://127.0.0.1:{closed_port()}") as gateway:
        response = await gateway.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["x-unavailable-services"] == ["ledger"]
    assert "/api/v1/org/v1/caller" in doc["paths"]
    assert not [p for p in doc["paths"] if p.startswith("/api/v1/ledger/")]


async def test_docs_page_loads_the_merged_document(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/docs")
    assert response.status_code == 200
    assert "swagger-ui" in response.text
    assert "/openapi.json" in response.text


def test_merge_prefixes_component_names_rewrites_refs_and_keeps_operation_ids_unique() -> None:
    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    service: dict[str, Any] = {
        "paths": {
            "/v1/things": {"get": {"operationId": "read", "tags": ["things"], "responses": {
                "200": {"content": {"application/json": {"schema": {"type": "array", "items": ref("Thing")}}}},
                "422": {"content": {"application/json": {"schema": ref("HTTPValidationError")}}}}}},
            "/internal/feed": {"get": {"operationId": "feed", "responses": {"200": {"content": {
                "application/json": {"schema": ref("Secret")}}}}}},
        },
        "components": {"schemas": {
            "Thing": {"properties": {"child": ref("Child")}}, "Child": {"type": "object"},
            "Secret": {"type": "object"}, "HTTPValidationError": {"type": "object"},
        }},
    }
    own: dict[str, Any] = {"paths": {"/api/v1/auth/me": {"get": {"operationId": "org_read", "responses": {}}}},
           "components": {"schemas": {"Thing": {"type": "string"}, "Problem": {}, "ValidationProblem": {}}}}

    doc = merge(own, {"org": service, "ledger": service, "activity": None})

    schemas = doc["components"]["schemas"]
    assert schemas["Thing"] == {"type": "string"}  # the gateway's own name is untouched
    assert schemas["org.Thing"] == {"properties": {"child": ref("org.Child")}}
    assert {"ledger.Thing", "ledger.Child"} <= schemas.keys()
    assert not {"org.Secret", "org.HTTPValidationError"} & schemas.keys()
    read = doc["paths"]["/api/v1/org/v1/things"]["get"]
    assert read["responses"]["200"]["content"]["application/json"]["schema"]["items"] == ref("org.Thing")
    # What the gateway answers itself is declared even where the service declared nothing of it.
    assert set(FORWARDED_STATUSES) <= read["responses"].keys()
    assert read["responses"]["502"]["content"]["application/problem+json"]["schema"] == ref("Problem")
    assert {"413", "503"} <= doc["paths"]["/api/v1/auth/me"]["get"]["responses"].keys()
    assert read["responses"]["422"]["content"]["application/problem+json"]["schema"] == {
        "anyOf": [ref("ValidationProblem"), ref("Problem")]}
    assert read["tags"] == ["org: things"]
    assert read["operationId"] == "org_read_2"  # "org_read" was taken by the gateway
    assert doc["paths"]["/api/v1/ledger/v1/things"]["get"]["operationId"] == "ledger_read"
    assert "/api/v1/org/internal/feed" not in doc["paths"]
    assert doc["x-unavailable-services"] == ["activity"]
    assert [r for r in refs(doc) if not resolves(doc, r)] == []
    assert service["components"]["schemas"]["Thing"] == {"properties": {"child": ref("Child")}}  # input intact
