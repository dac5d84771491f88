"""The partner bank's signed calls: every refusal, forwarding as the partner, replay, revocation,
rate, large bodies, and the wall between partner signatures and users' tokens."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gateway_service.roles import Role
from gateway_service.testing import GatewayFactory, Login, UserFactory, assert_problem, bearer
from svckit.internal_auth import verify_internal_token
from svckit.partner_signing import sign

PREFIX = "/api/v1/partner/bank"
PARTNERS = "/api/v1/auth/partners"


@dataclass(frozen=True)
class BankKey:
    code: str
    key_id: str
    secret: str


def bank_ledger(seen: list[dict[str, Any]]) -> FastAPI:
    """Stands in for the ledger's /v1/bank API: records what it received and answers with a digest of it."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT"])
    async def receive(path: str, request: Request) -> JSONResponse:
        body = await request.body()
        record = {"method": request.method, "path": request.url.path, "query": request.url.query,
                  "headers": dict(request.headers), "body_sha256": hashlib.sha256(body).hexdigest(),
                  "body_length": len(body), "body": body}
        seen.append(record)
        answer = {k: v for k, v in record.items() if k != "body"}
        return JSONResponse(answer, status_code=202, headers={"Location": "http://127.0.0.1:8004/v1/bank/results/7"})

    return app


@pytest.fixture
def ledger_calls() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def bank_transports(
    service_transports: dict[str, httpx.AsyncBaseTransport], ledger_calls: list[dict[str, Any]],
) -> dict[str, httpx.AsyncBaseTransport]:
    return {**service_transports, "ledger": httpx.ASGITransport(app=bank_ledger(ledger_calls))}


@pytest.fixture
async def bank_gateway(
    start_gateway: GatewayFactory, bank_transports: dict[str, httpx.AsyncBaseTransport],
) -> AsyncIterator[httpx.AsyncClient]:
    async with start_gateway(transports=bank_transports) as client:
        yield client


@pytest.fixture
async def admin(bank_gateway: httpx.AsyncClient, make_user: UserFactory, login: Login) -> dict[str, str]:
    return bearer(await login(bank_gateway, await make_user(Role.ADMIN)))


async def new_bank(client: httpx.AsyncClient, admin: dict[str, str]) -> BankKey:
    code = f"bank-{secrets.token_hex(4)}"
    created = await client.post(PARTNERS, json={"code": code, "name": "中国工商银行天津分行"}, headers=admin)
    assert created.status_code == 201, created.text
    issued = await client.post(f"{PARTNERS}/{code}/keys", headers=admin)
    assert issued.status_code == 201, issued.text
    return BankKey(code, issued.json()["key_id"], issued.json()["secret"])


@pytest.fixture
async def bank(bank_gateway: httpx.AsyncClient, admin: dict[str, str]) -> BankKey:
    return await new_bank(bank_gateway, admin)


def signed_request(
    client: httpx.AsyncClient, key: BankKey, method: str = "POST", path: str = "/v1/debit-results", *,
    query: str = "", body: bytes = b"", headers: dict[str, str] | None = None, sign_as: dict[str, Any] | None = None,
) -> httpx.Request:
    """A request signed as the bank signs it; `sign_as` changes what is signed, not what is sent."""
    values: dict[str, Any] = {"key_id": key.key_id, "secret": key.secret, "method": method,
                              "path": PREFIX + path, "query": query, "body": body, **(sign_as or {})}
    url = PREFIX + path + (f"?{query}" if query else "")
    return client.build_request(method, url, content=body or None,
                                headers={**sign(**values), **(headers or {})})


async def call(client: httpx.AsyncClient, key: BankKey, *args: Any, **kwargs: Any) -> httpx.Response:
    return await client.send(signed_request(client, key, *args, **kwargs))


def refused(response: httpx.Response, code: str, header: str, status: int = 401) -> dict[str, Any]:
    body = assert_problem(response, status, code)
    assert body["header"] == header
    assert response.headers["www-authenticate"].startswith("HMAC-SHA256")
    return body


async def test_a_signed_call_reaches_the_ledger_as_the_partner_with_the_exact_body(
    bank_gateway: httpx.AsyncClient, bank: BankKey, ledger_calls: list[dict[str, Any]], internal_secret: str,
) -> None:
    body = '{"instruction_id":"DI-1","result":"failed","reason":"余额不足"}'.encode()
    response = await call(bank_gateway, bank, "POST", "/v1/debit-results", query="date=2026-11-23&batch=7",
                          body=body, headers={"Content-Type": "application/json", "Idempotency-Key": "DI-1-r1",
                                              "Authorization": "Bearer not-forwarded", "Cookie": "x=1"})

    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"{PREFIX}/results/7"
    [seen] = ledger_calls
    assert (seen["method"], seen["path"], seen["query"]) == ("POST", "/v1/bank/v1/debit-results",
                                                             "date=2026-11-23&batch=7")
    assert seen["body"] == body
    sent = seen["headers"]
    assert (sent["content-type"], sent["idempotency-key"]) == ("application/json", "DI-1-r1")
    assert not [h for h in sent if h.startswith("x-partner-") or h == "cookie"]
    caller = verify_internal_token(internal_secret, sent["authorization"].removeprefix("Bearer "), audience="ledger")
    assert (caller.service, caller.user_id, caller.username) == ("gateway", f"partner:{bank.code}", bank.code)
    assert caller.roles == frozenset({"partner_bank"})
    assert caller.data_scope.empty
    assert caller.request_id == response.headers["x-request-id"]


async def test_a_call_without_a_body_is_forwarded_too(
    bank_gateway: httpx.AsyncClient, bank: BankKey, ledger_calls: list[dict[str, Any]],
) -> None:
    response = await call(bank_gateway, bank, "GET", "/v1/instructions", query="on=2026-11-23")
    assert response.status_code == 202, response.text
    assert (ledger_calls[0]["method"], ledger_calls[0]["body_length"]) == ("GET", 0)


@pytest.mark.parametrize("header", ["X-Partner-Key", "X-Partner-Timestamp", "X-Partner-Nonce", "X-Partner-Signature"])
async def test_each_missing_header_is_named(
    bank_gateway: httpx.AsyncClient, bank: BankKey, ledger_calls: list[dict[str, Any]], header: str,
) -> None:
    request = signed_request(bank_gateway, bank, body=b"{}")
    del request.headers[header]
    refused(await bank_gateway.send(request), "partner_signature_missing", header)
    assert ledger_calls == []


@pytest.mark.parametrize(("header", "value"), [
    ("X-Partner-Timestamp", "yesterday"), ("X-Partner-Timestamp", "-1"), ("X-Partner-Timestamp", "1.5"),
    ("X-Partner-Nonce", "too-short"), ("X-Partner-Nonce", "has spaces in it!"), ("X-Partner-Nonce", "n" * 65),
])
async def test_malformed_headers_are_named(
    bank_gateway: httpx.AsyncClient, bank: BankKey, header: str, value: str,
) -> None:
    request = signed_request(bank_gateway, bank)
    request.headers[header] = value
    refused(await bank_gateway.send(request), "partner_header_malformed", header)


async def test_an_unknown_key_is_refused(bank_gateway: httpx.AsyncClient, bank: BankKey) -> None:
    stranger = BankKey(bank.code, "pk_" + secrets.token_hex(12), bank.secret)
    refused(await call(bank_gateway, stranger), "partner_key_unknown", "X-Partner-Key")
    refused(await call(bank_gateway, BankKey(bank.code, "k" * 500, bank.secret)), "partner_key_unknown",
            "X-Partner-Key")


async def test_another_partners_secret_does_not_sign_for_this_key(
    bank_gateway: httpx.AsyncClient, bank: BankKey, admin: dict[str, str],
) -> None:
    other = await new_bank(bank_gateway, admin)
    mixed = BankKey(bank.code, bank.key_id, other.secret)
    refused(await call(bank_gateway, mixed), "partner_signature_invalid", "X-Partner-Signature")


@pytest.mark.parametrize("offset", [-301, 301, -86_400], ids=["old", "future", "a-day-old"])
async def test_a_timestamp_outside_the_window_is_refused(
    bank_gateway: httpx.AsyncClient, bank: BankKey, ledger_calls: list[dict[str, Any]], offset: int,
) -> None:
    # 301 s against a 300 s window leaves one second of slack for the test's own run time.
    response = await call(bank_gateway, bank,
                          sign_as={"timestamp": int(time.time()) + offset + (1 if offset > 0 else -1)})
    body = refused(response, "partner_timestamp_out_of_window", "X-Partner-Timestamp")
    assert isinstance(body["server_time"], int)
    assert ledger_calls == []


async def test_the_window_is_a_setting(
    start_gateway: GatewayFactory, bank_transports: dict[str, httpx.AsyncBaseTransport], make_user: UserFactory,
    login: Login,
) -> None:
    async with start_gateway(transports=bank_transports, partner_timestamp_window=3600) as client:
        key = await new_bank(client, bearer(await login(client, await make_user(Role.ADMIN))))
        assert (await call(client, key, sign_as={"timestamp": int(time.time()) - 1800})).status_code == 202


@pytest.mark.parametrize("tamper", [
    {"body": b'{"amount":"1000.00"}'},
    {"path": f"{PREFIX}/v1/other"},
    {"query": "date=2026-11-24"},
    {"method": "PUT"},
    {"secret": "not-the-secret-" + "x" * 30},
], ids=["body", "path", "query", "method", "secret"])
async def test_a_signature_that_does_not_sign_the_request_is_refused(
    bank_gateway: httpx.AsyncClient, bank: BankKey, ledger_calls: list[dict[str, Any]], tamper: dict[str, Any],
) -> None:
    response = await call(bank_gateway, bank, "POST", "/v1/debit-results", query="date=2026-11-23",
                          body=b'{"amount":"10.00"}', sign_as=tamper)
    refused(response, "partner_signature_invalid", "X-Partner-Signature")
    assert ledger_calls == []


async def test_timestamp_and_nonce_changed_after_signing_are_refused(
    bank_gateway: httpx.AsyncClient, bank: BankKey,
) -> None:
    request = signed_request(bank_gateway, bank, body=b"{}")
    request.headers["X-Partner-Timestamp"] = str(int(request.headers["X-Partner-Timestamp"]) - 1)
    refused(await bank_gateway.send(request), "partner_signature_invalid", "X-Partner-Signature")
    request = signed_request(bank_gateway, bank, body=b"{}")
    request.headers["X-Partner-Nonce"] = secrets.token_urlsafe(16)
    refused(await bank_gateway.send(request), "partner_signature_invalid", "X-Partner-Signature")


async def test_the_query_may_be_sent_in_any_order_of_names(
    bank_gateway: httpx.AsyncClient, bank: BankKey,
) -> None:
    headers = sign(key_id=bank.key_id, secret=bank.secret, method="GET", path=f"{PREFIX}/v1/files",
                   query="date=2026-11-23&batch=7")
    response = await bank_gateway.get(f"{PREFIX}/v1/files?batch=7&date=2026-11-23", headers=headers)
    assert response.status_code == 202, response.text


async def test_a_replayed_request_is_refused(
    bank_gateway: httpx.AsyncClient, bank: BankKey, ledger_calls: list[dict[str, Any]],
) -> None:
    first = signed_request(bank_gateway, bank, body=b'{"n":1}')
    again = bank_gateway.build_request("POST", first.url, content=b'{"n":1}', headers=dict(first.headers))
    assert (await bank_gateway.send(first)).status_code == 202
    refused(await bank_gateway.send(again), "partner_nonce_replayed", "X-Partner-Nonce")
    assert len(ledger_calls) == 1


async def test_identical_requests_at_once_pass_once(
    bank_gateway: httpx.AsyncClient, bank: BankKey, ledger_calls: list[dict[str, Any]],
) -> None:
    original = signed_request(bank_gateway, bank, body=b'{"instruction_id":"DI-9"}')
    copies = [bank_gateway.build_request("POST", original.url, content=b'{"instruction_id":"DI-9"}',
                                         headers=dict(original.headers)) for _ in range(8)]

    responses = await asyncio.gather(*(bank_gateway.send(r) for r in copies))

    assert sorted(r.status_code for r in responses) == [202] + [401] * 7
    for response in responses:
        if response.status_code == 401:
            refused(response, "partner_nonce_replayed", "X-Partner-Nonce")
    assert len(ledger_calls) == 1


async def test_the_same_nonce_is_fine_for_another_partner(
    bank_gateway: httpx.AsyncClient, bank: BankKey, admin: dict[str, str],
) -> None:
    other, nonce = await new_bank(bank_gateway, admin), secrets.token_urlsafe(16)
    assert (await call(bank_gateway, bank, sign_as={"nonce": nonce})).status_code == 202
    assert (await call(bank_gateway, other, sign_as={"nonce": nonce})).status_code == 202


async def test_a_revoked_key_stops_working_at_once(
    bank_gateway: httpx.AsyncClient, bank: BankKey, admin: dict[str, str],
) -> None:
    second = await bank_gateway.post(f"{PARTNERS}/{bank.code}/keys", headers=admin)
    spare = BankKey(bank.code, second.json()["key_id"], second.json()["secret"])
    assert (await call(bank_gateway, bank)).status_code == 202

    revoked = await bank_gateway.post(f"{PARTNERS}/{bank.code}/keys/{bank.key_id}/revoke", headers=admin)

    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    refused(await call(bank_gateway, bank), "partner_key_unknown", "X-Partner-Key")
    assert (await call(bank_gateway, spare)).status_code == 202  # the partner's other key still works
    again = await bank_gateway.post(f"{PARTNERS}/{bank.code}/keys/{bank.key_id}/revoke", headers=admin)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


async def test_an_inactive_partner_is_refused_until_reactivated(
    bank_gateway: httpx.AsyncClient, bank: BankKey, admin: dict[str, str],
) -> None:
    off = await bank_gateway.patch(f"{PARTNERS}/{bank.code}", json={"active": False}, headers=admin)
    assert off.json()["active"] is False
    refused(await call(bank_gateway, bank), "partner_key_unknown", "X-Partner-Key")
    await bank_gateway.patch(f"{PARTNERS}/{bank.code}", json={"active": True}, headers=admin)
    assert (await call(bank_gateway, bank)).status_code == 202


async def test_each_partner_has_its_own_rate(
    start_gateway: GatewayFactory, bank_transports: dict[str, httpx.AsyncBaseTransport], make_user: UserFactory,
    login: Login, ledger_calls: list[dict[str, Any]],
) -> None:
    # Refill far slower than the test runs, so the third call finds the bucket empty.
    async with start_gateway(transports=bank_transports, partner_rate_per_second=0.001,
                             partner_rate_burst=2) as client:
        admin = bearer(await login(client, await make_user(Role.ADMIN)))
        busy, quiet = await new_bank(client, admin), await new_bank(client, admin)
        ok = [await call(client, busy, body=b"{}") for _ in range(2)]
        limited = await call(client, busy, body=b"{}")
        other = await call(client, quiet, body=b"{}")
    assert [r.status_code for r in ok] == [202, 202]
    body = assert_problem(limited, 429, "rate_limited")
    assert body["partner"] == busy.code
    assert int(limited.headers["retry-after"]) >= 1
    assert other.status_code == 202
    assert len(ledger_calls) == 3


async def test_a_large_body_is_spooled_hashed_and_forwarded_byte_for_byte(
    start_gateway: GatewayFactory, bank_transports: dict[str, httpx.AsyncBaseTransport], make_user: UserFactory,
    login: Login, ledger_calls: list[dict[str, Any]],
) -> None:
    # A reconciliation file of ~8 MB: over the users' body limit here and over the in-memory part of the spool.
    lines = [f"{i:07d},DI-{i:09d},6222020200112233{i % 10000:04d},{(i * 37) % 100000 / 100:.2f},S\n"
             for i in range(150_000)]
    csv = ("seq,instruction,account,amount,status\n" + "".join(lines)).encode()
    assert len(csv) > 7 * 1024 * 1024
    async with start_gateway(transports=bank_transports, max_body_bytes=1024 * 1024,
                             partner_spool_memory_bytes=256 * 1024) as client:
        admin = bearer(await login(client, await make_user(Role.ADMIN)))
        key = await new_bank(client, admin)
        response = await call(client, key, "PUT", "/v1/reconciliations/2026-11-23", body=csv,
                              headers={"Content-Type": "text/csv"})
        user_upload = await client.post("/api/v1/ledger/v1/anything", content=csv[:2 * 1024 * 1024],
                                        headers=admin)
    assert response.status_code == 202, response.text
    [seen] = ledger_calls
    assert seen["body"] == csv
    assert (seen["body_length"], seen["body_sha256"]) == (len(csv), hashlib.sha256(csv).hexdigest())
    assert seen["headers"]["content-length"] == str(len(csv))
    assert seen["headers"]["content-type"] == "text/csv"
    assert_problem(user_upload, 413, "payload_too_large")  # people keep the small limit


async def test_a_body_over_the_partner_limit_is_a_413(
    start_gateway: GatewayFactory, bank_transports: dict[str, httpx.AsyncBaseTransport], make_user: UserFactory,
    login: Login, ledger_calls: list[dict[str, Any]],
) -> None:
    async with start_gateway(transports=bank_transports, partner_max_body_bytes=1000) as client:
        key = await new_bank(client, bearer(await login(client, await make_user(Role.ADMIN))))
        announced = await call(client, key, body=b"x" * 1001)

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: refused while it streams in
            for _ in range(4):
                yield b"y" * 400

        request = client.build_request("POST", f"{PREFIX}/v1/files", content=chunks(), headers=sign(
            key_id=key.key_id, secret=key.secret, method="POST", path=f"{PREFIX}/v1/files", body=b"y" * 1600))
        streamed = await client.send(request)
    assert_problem(announced, 413, "payload_too_large")
    assert_problem(streamed, 413, "payload_too_large")
    assert ledger_calls == []


async def test_a_users_token_never_works_on_the_partner_prefix(
    bank_gateway: httpx.AsyncClient, make_user: UserFactory, login: Login, ledger_calls: list[dict[str, Any]],
) -> None:
    admin = await login(bank_gateway, await make_user(Role.ADMIN))
    response = await bank_gateway.post(f"{PREFIX}/v1/debit-results", content=b"{}", headers=bearer(admin))
    refused(response, "partner_signature_missing", "X-Partner-Key")
    assert ledger_calls == []


async def test_a_partner_signature_never_works_on_user_routes(
    bank_gateway: httpx.AsyncClient, bank: BankKey,
) -> None:
    for path in ("/api/v1/ledger/v1/bank/v1/debit-results", "/api/v1/auth/me", f"{PARTNERS}"):
        headers = sign(key_id=bank.key_id, secret=bank.secret, method="GET", path=path)
        assert_problem(await bank_gateway.get(path, headers=headers), 401, "not_authenticated")


@pytest.mark.parametrize("path", ["/api/v1/ledger/v1/bank/v1/debit-results", "/api/v1/ledger/v1/bank",
                                  "/api/v1/ledger/v1/%62ank/x"])
async def test_the_ledgers_bank_api_is_not_reachable_with_a_users_token(
    bank_gateway: httpx.AsyncClient, make_user: UserFactory, login: Login, ledger_calls: list[dict[str, Any]],
    path: str,
) -> None:
    admin = await login(bank_gateway, await make_user(Role.ADMIN))
    request = bank_gateway.build_request("POST", "http://gateway.test", content=b"{}", headers=bearer(admin))
    request.url = request.url.copy_with(raw_path=path.encode())
    assert_problem(await bank_gateway.send(request), 404, "not_found")
    assert ledger_calls == []
    banking = await bank_gateway.get("/api/v1/ledger/v1/banking", headers=bearer(admin))
    assert banking.status_code == 202  # only the bank/ segment is the partner's


async def test_paths_beside_the_partner_prefix_are_not_found(bank_gateway: httpx.AsyncClient) -> None:
    assert_problem(await bank_gateway.get("/api/v1/partner/insurer/x"), 404, "not_found")


async def test_a_master_key_that_cannot_open_the_secrets_is_our_error_not_the_banks(
    start_gateway: GatewayFactory, bank_transports: dict[str, httpx.AsyncBaseTransport], bank: BankKey,
    ledger_calls: list[dict[str, Any]],
) -> None:
    async with start_gateway(transports=bank_transports, partner_master_key=secrets.token_urlsafe(40)) as client:
        response = await call(client, bank)
    assert_problem(response, 500, "partner_credentials_unreadable")
    assert bank.secret not in response.text
    assert ledger_calls == []


async def test_a_partner_call_may_take_the_partner_timeout_not_the_users(
    start_gateway: GatewayFactory, service_transports: dict[str, httpx.AsyncBaseTransport], make_user: UserFactory,
    login: Login,
) -> None:
    # Processing a large reconciliation file takes longer than a person's call may.
    class Stream(httpx.AsyncByteStream):
        def __init__(self, data: bytes) -> None:
            self.data = data

        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield self.data

    class Timeouts(httpx.AsyncBaseTransport):
        """Answers with the timeouts the gateway gave the call (a streamed answer, as a real service's is)."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await request.aread()
            body = json.dumps(request.extensions["timeout"]).encode()
            return httpx.Response(200, headers={"content-type": "application/json"}, stream=Stream(body))

    transports = {**service_transports, "ledger": Timeouts()}
    async with start_gateway(transports=transports, upstream_timeout=30, partner_upstream_timeout=600) as client:
        admin = bearer(await login(client, await make_user(Role.ADMIN)))
        key = await new_bank(client, admin)
        partner = await call(client, key, body=b"{}")
        person = await client.get("/api/v1/ledger/v1/caller", headers=admin)
    assert (partner.json()["read"], partner.json()["write"]) == (600, 600)
    assert (person.json()["read"], person.json()["write"]) == (30, 30)
