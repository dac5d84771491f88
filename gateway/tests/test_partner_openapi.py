"""The merged document presents the ledger's bank API under the partner prefix, signed by the bank,
and says how to sign with an example that really verifies."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from gateway_service import partner_api
from gateway_service.openapi import merge
from gateway_service.testing import GatewayFactory
from svckit.partner_signing import sign

PARTNER_SECURITY: list[dict[str, list[str]]] = [
    {"partnerKey": [], "partnerTimestamp": [], "partnerNonce": [], "partnerSignature": []}]


def ledger_spec() -> dict[str, Any]:
    def op(operation_id: str, tag: str) -> dict[str, Any]:
        return {"operationId": operation_id, "tags": [tag], "responses": {
            "202": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}}},
            "401": {"description": "internal token", "content": {"application/json": {"schema": {}}}}}}

    return {
        "paths": {
            "/v1/bank/debit-results": {"post": op("post_results", "bank")},
            "/v1/bank/reconciliations/{day}": {"put": op("put_file", "bank")},
            "/v1/receivables": {"get": op("receivables", "receivables")},
        },
        "components": {"schemas": {"Receipt": {"type": "object"}}},
    }


def own() -> dict[str, Any]:
    return {"paths": {}, "components": {"schemas": {"Problem": {}, "ValidationProblem": {}},
                                        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}}}


def test_the_bank_paths_are_rehomed_under_the_partner_prefix_and_signed() -> None:
    doc = merge(own(), {"ledger": ledger_spec(), "org": {"paths": {"/v1/bank/x": {"get": {"responses": {}}}}}})
    paths = doc["paths"]

    assert {"/api/v1/partner/bank/debit-results", "/api/v1/partner/bank/reconciliations/{day}"} <= paths.keys()
    assert not [p for p in paths if p.startswith("/api/v1/ledger/v1/bank")]
    post = paths["/api/v1/partner/bank/debit-results"]["post"]
    assert post["security"] == PARTNER_SECURITY
    assert post["tags"] == ["partner bank: bank"]
    assert {"401", "413", "429", "503", "504"} <= post["responses"].keys()
    assert "partner_nonce_replayed" in post["responses"]["401"]["description"]  # not the ledger's own 401
    assert post["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ledger.Receipt"}
    # Other ledger paths stay where they were, for people; another service's /v1/bank is just a path.
    receivables = paths["/api/v1/ledger/v1/receivables"]["get"]
    assert receivables["security"] == [{"bearerAuth": []}]
    assert "429" not in receivables["responses"]
    assert paths["/api/v1/org/v1/bank/x"]["get"]["security"] == [{"bearerAuth": []}]


def test_the_signing_scheme_is_documented_even_without_bank_paths() -> None:
    doc = merge(own(), {"ledger": None})
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert {schemes[name]["name"] for name in PARTNER_SECURITY[0]} == {
        "X-Partner-Key", "X-Partner-Timestamp", "X-Partner-Nonce", "X-Partner-Signature"}
    assert all(schemes[name]["in"] == "header" for name in PARTNER_SECURITY[0])
    [tag] = [t for t in doc["tags"] if t["name"] == "partner bank"]
    assert "X-Partner-Signature" in tag["description"]
    assert partner_api.EXAMPLE_SIGNATURE in tag["description"]


def test_the_worked_example_is_a_real_signature() -> None:
    headers = sign(key_id="pk_example", secret=partner_api.EXAMPLE_SECRET, method="POST", path=partner_api.EXAMPLE_PATH,
                   query=partner_api.EXAMPLE_QUERY, body=partner_api.EXAMPLE_BODY,
                   timestamp=partner_api.EXAMPLE_TIMESTAMP, nonce=partner_api.EXAMPLE_NONCE)
    assert headers["X-Partner-Signature"] == partner_api.EXAMPLE_SIGNATURE


async def test_the_live_document_rehomes_a_ledger_that_publishes_bank_paths(
    start_gateway: GatewayFactory, service_transports: dict[str, httpx.AsyncBaseTransport],
) -> None:
    ledger = FastAPI()

    @ledger.post("/v1/bank/debit-results", tags=["bank"])
    async def debit_results() -> dict[str, str]:
        """Per-instruction debit results from the bank."""
        return {}

    @ledger.get("/openapi.json", include_in_schema=False)
    async def spec() -> dict[str, Any]:
        return ledger.openapi()

    async with start_gateway(transports={**service_transports, "ledger": httpx.ASGITransport(app=ledger)}) as client:
        doc = (await client.get("/openapi.json")).json()
    operation = doc["paths"]["/api/v1/partner/bank/debit-results"]["post"]
    assert operation["security"] == PARTNER_SECURITY
    assert operation["summary"] == "Debit Results"
    assert "/api/v1/org/v1/caller" in doc["paths"]
    assert "partnerSignature" in doc["components"]["securitySchemes"]
    assert "partner bank" in doc["info"]["description"]
