"""Forwarding: identity and request ids reach the service, headers are filtered, failures are problems."""

from __future__ import annotations

import asyncio
import secrets
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gateway_service.testing import GatewayFactory, Login, UserFactory, assert_problem, bearer, closed_port
from svckit.internal_auth import verify_internal_token
from svckit.testing.metrics import sample

CALLER = "/api/v1/org/v1/caller"


def echo_service() -> FastAPI:
    """Stands in for a service and answers with exactly what it received."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo(path: str, request: Request) -> JSONResponse:
        return JSONResponse(
            {"method": request.method, "path": request.url.path, "query": request.url.query,
             "headers": dict(request.headers), "body": (await request.body()).decode()},
            status_code=201,
            headers={"X-Upstream": "echo", "Keep-Alive": "timeout=5", "Location": "http://127.0.0.1:8004/v1/next",
                     "ETag": '"v7"'},
        )

    return app


class FailingTransport(httpx.AsyncBaseTransport):
    def __init__(self, error: Exception | None = None, delay: float = 0.0) -> None:
        self.error, self.delay = error, delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return httpx.Response(200, json={"late": True})


@pytest.fixture
async def echo_gateway(
    start_gateway: GatewayFactory, service_transports: dict[str, httpx.AsyncBaseTransport],
) -> AsyncIterator[httpx.AsyncClient]:
    # The echo stands in for ledger: org must stay real, the gateway asks it for each user's scope.
    transports = {**service_transports, "ledger": httpx.ASGITransport(app=echo_service())}
    async with start_gateway(transports=transports) as client:
        yield client


async def test_request_id_from_the_client_is_echoed_and_reaches_the_service(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    pair = await login(gateway, await make_user())
    response = await gateway.get(CALLER, headers={**bearer(pair), "X-Request-ID": "mobile-7f3a9c21"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "mobile-7f3a9c21"
    assert response.json()["request_id"] == "mobile-7f3a9c21"
    assert response.headers.get_list("x-request-id") == ["mobile-7f3a9c21"]  # not duplicated by the service's


async def test_a_generated_request_id_is_the_one_the_service_sees(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    pair = await login(gateway, await make_user())
    response = await gateway.get("/api/v1/activity/v1/caller", headers=bearer(pair))
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert len(response.headers["x-request-id"]) >= 8


@pytest.mark.parametrize("service", ["org", "performance", "activity", "ledger"])
async def test_every_service_is_routed(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login, service: str,
) -> None:
    pair = await login(gateway, await make_user())
    response = await gateway.get(f"/api/v1/{service}/v1/caller", headers=bearer(pair))
    assert response.status_code == 200
    assert response.json()["service"] == service


async def test_method_path_query_body_and_safe_headers_are_forwarded(
    echo_gateway: httpx.AsyncClient, make_user: UserFactory, login: Login, internal_secret: str,
) -> None:
    account = await make_user()
    pair = await login(echo_gateway, account)
    headers = {**bearer(pair), "Content-Type": "application/json", "Idempotency-Key": "k-123",
               "If-Match": '"v6"', "Cookie": "session=secret", "X-Forwarded-For": "6.6.6.6"}

    response = await echo_gateway.post("/api/v1/ledger/v1/teams/a%20b?x=1&y=%C3%A9", content=b'{"n": 1}',
                                       headers=headers)

    assert response.status_code == 201
    seen: dict[str, Any] = response.json()
    assert (seen["method"], seen["path"], seen["query"], seen["body"]) == (
        "POST", "/v1/teams/a b", "x=1&y=%C3%A9", '{"n": 1}')
    sent = seen["headers"]
    assert sent["idempotency-key"] == "k-123"
    assert sent["if-match"] == '"v6"'
    assert sent["content-type"] == "application/json"
    assert "cookie" not in sent
    assert "x-forwarded-for" not in sent
    # The user's access token never leaves the gateway; the service gets an internal token for itself.
    token = sent["authorization"].removeprefix("Bearer ")
    assert token != pair["access_token"]
    caller = verify_internal_token(internal_secret, token, audience="ledger")
    assert (caller.service, caller.user_id, caller.username) == ("gateway", account.id, account.username)
    assert caller.data_scope.empty  # a user linked to no agent and no institution sees nothing
    assert response.headers["x-upstream"] == "echo"
    assert response.headers["etag"] == '"v7"'
    assert "keep-alive" not in response.headers
    assert response.headers["location"] == "/api/v1/ledger/v1/next"


async def test_a_forwarded_call_is_timed_by_its_route_template(
    start_gateway: GatewayFactory, make_user: UserFactory, login: Login,
) -> None:
    scrape_token = secrets.token_urlsafe(32)
    scrape = {"Authorization": f"Bearer {scrape_token}"}
    labels = {"method": "GET", "route": "/api/v1/org/{path:path}", "status": "2xx"}
    async with start_gateway(metrics_token=scrape_token) as gateway:
        before = sample((await gateway.get("/metrics", headers=scrape)).text,
                        "http_request_duration_seconds_count", **labels) or 0
        headers = bearer(await login(gateway, await make_user()))
        for _ in range(3):
            assert (await gateway.get(f"{CALLER}?n=1", headers=headers)).status_code == 200
        after = sample((await gateway.get("/metrics", headers=scrape)).text, "http_request_duration_seconds_count",
                       **labels)
    assert after == before + 3


async def test_a_cookie_a_service_sets_never_rides_along_on_a_later_call(
    start_gateway: GatewayFactory, service_transports: dict[str, httpx.AsyncBaseTransport], make_user: UserFactory,
    login: Login,
) -> None:
    # The gateway's pools are shared by everyone: a cookie kept by them would reach other people's calls.
    received: list[str | None] = []
    service = FastAPI()

    @service.get("/{path:path}")
    async def set_cookie(request: Request) -> JSONResponse:
        received.append(request.headers.get("cookie"))
        return JSONResponse({}, headers={"Set-Cookie": "who=first-caller; Path=/"})

    async with start_gateway(transports={**service_transports, "ledger": httpx.ASGITransport(app=service)}) as gateway:
        for _ in range(2):
            account = await make_user()
            response = await gateway.get("/api/v1/ledger/v1/anything", headers=bearer(await login(gateway, account)))
            assert response.status_code == 200
            assert response.headers["set-cookie"] == "who=first-caller; Path=/"  # relayed to its own caller
    assert received == [None, None]


@pytest.mark.parametrize("path", ["/api/v1/org/internal/feed", "/api/v1/org/v1/../internal/feed",
                                  "/api/v1/org/v1//caller", "/api/v1/org/%2E%2E/internal/feed"])
async def test_private_and_tricky_paths_are_not_forwarded(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login, path: str,
) -> None:
    pair = await login(gateway, await make_user())
    # Sent raw so the client library does not normalise the dot segments away first.
    request = gateway.build_request("GET", "http://gateway.test", headers=bearer(pair))
    request.url = request.url.copy_with(raw_path=path.encode())
    response = await gateway.send(request)
    assert_problem(response, 404, "not_found")


async def test_unknown_service_is_a_404_problem(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    pair = await login(gateway, await make_user())
    body = assert_problem(await gateway.get("/api/v1/payroll/v1/caller", headers=bearer(pair)), 404,
                          "unknown_service")
    assert body["service"] == "payroll"


async def test_paths_nothing_serves_get_precise_problems(gateway: httpx.AsyncClient) -> None:
    wrong_method = assert_problem(await gateway.get("/api/v1/auth/login"), 405, "method_not_allowed")
    assert wrong_method["status"] == 405
    assert (await gateway.get("/api/v1/auth/login")).headers["allow"] == "POST"
    assert_problem(await gateway.get("/api/v1/auth/no-such-thing"), 404, "not_found")
    assert_problem(await gateway.get("/api/v1/payroll/anything"), 404, "unknown_service")


async def test_unreachable_service_is_a_503_naming_it(
    start_gateway: GatewayFactory, service_transports: dict[str, httpx.AsyncBaseTransport],
    make_user: UserFactory, login: Login,
) -> None:
    transports = {k: v for k, v in service_transports.items() if k != "ledger"}
    async with start_gateway(transports=transports, ledger_url=f"http://127.0.0.1:{closed_port()}") as gateway:
        pair = await login(gateway, await make_user())
        response = await gateway.get("/api/v1/ledger/v1/caller", headers=bearer(pair))
        other = await gateway.get("/api/v1/org/v1/caller", headers=bearer(pair))
    body = assert_problem(response, 503, "service_unavailable")
    assert body["service"] == "ledger"
    assert "ledger" in body["detail"]
    assert other.status_code == 200  # one service down does not take the others with it


async def test_a_service_refusing_the_gateways_credentials_is_a_502_not_a_user_401(
    start_gateway: GatewayFactory, make_user: UserFactory, login: Login,
) -> None:
    # The gateway signs with a key the services do not share: our misconfiguration, not the user's.
    async with start_gateway(INTERNAL_TOKEN_SECRET="out-of-step-" + "k" * 40) as gateway:
        pair = await login(gateway, await make_user())
        response = await gateway.get("/api/v1/org/v1/caller", headers=bearer(pair))
    body = assert_problem(response, 502, "upstream_rejected_gateway")
    assert body["service"] == "org"


async def test_a_services_own_401_passes_through(
    start_gateway: GatewayFactory, service_transports: dict[str, httpx.AsyncBaseTransport],
    make_user: UserFactory, login: Login,
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"code": "pin_required", "status": 401},
                              headers={"content-type": "application/problem+json"})

    transports = {**service_transports, "ledger": httpx.MockTransport(refuse)}
    async with start_gateway(transports=transports) as gateway:
        pair = await login(gateway, await make_user())
        response = await gateway.get("/api/v1/ledger/v1/anything", headers=bearer(pair))
    assert response.status_code == 401
    assert response.json()["code"] == "pin_required"


@pytest.mark.parametrize(("transport", "settings"), [
    (FailingTransport(httpx.ReadTimeout("upstream too slow")), {}),
    (FailingTransport(delay=5.0), {"upstream_timeout": 0.2}),  # the whole-call deadline, not a per-read one
], ids=["read-timeout", "total-deadline"])
async def test_slow_service_is_a_504(
    start_gateway: GatewayFactory, service_transports: dict[str, httpx.AsyncBaseTransport],
    make_user: UserFactory, login: Login, transport: httpx.AsyncBaseTransport, settings: dict[str, Any],
) -> None:
    async with start_gateway(transports={**service_transports, "performance": transport}, **settings) as gateway:
        pair = await login(gateway, await make_user())
        response = await gateway.get("/api/v1/performance/v1/caller", headers=bearer(pair))
    body = assert_problem(response, 504, "service_timeout")
    assert body["service"] == "performance"


async def test_body_over_the_limit_is_a_413_problem(
    start_gateway: GatewayFactory, make_user: UserFactory, login: Login,
) -> None:
    async with start_gateway(max_body_bytes=1024) as gateway:
        pair = await login(gateway, await make_user())
        declared = await gateway.post(CALLER, content=b"x" * 2048, headers=bearer(pair))

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(4):
                yield b"y" * 512

        streamed = await gateway.post(CALLER, content=chunks(), headers=bearer(pair))  # no Content-Length
        small = await gateway.post("/api/v1/auth/login", content=b"{}" + b" " * 2048,
                                   headers={"Content-Type": "application/json"})
    for response in (declared, streamed, small):
        body = assert_problem(response, 413, "payload_too_large")
        assert "1024" in body["detail"]


async def test_a_connection_reset_after_the_request_was_sent_is_not_sent_again(
    start_gateway: GatewayFactory, service_transports: dict[str, httpx.AsyncBaseTransport],
    make_user: UserFactory, login: Login,
) -> None:
    # A service that reads the whole request, then dies (the socket reset): the POST may have been
    # applied, so the gateway must not send it a second time, only say it got no answer.
    received: list[bytes] = []

    async def take_and_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        writer.transport.abort()

    server = await asyncio.start_server(take_and_reset, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transports = {k: v for k, v in service_transports.items() if k != "ledger"}
    try:
        async with start_gateway(transports=transports, ledger_url=f"http://127.0.0.1:{port}") as gateway:
            pair = await login(gateway, await make_user())
            response = await gateway.post("/api/v1/ledger/v1/receipts", headers=bearer(pair), json={"x": 1})
    finally:
        server.close()
        await server.wait_closed()
    assert response.status_code in (502, 504), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert len(received) == 1
