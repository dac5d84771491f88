"""A signed call over a real socket (uvicorn with httptools): the path the bank signs is the path as it
travels, percent-encoding and all, and a query written with `+` and `%20` signs alike."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gateway_service.app import create_app
from gateway_service.roles import Role
from gateway_service.settings import GatewaySettings
from gateway_service.testing import Login, UserFactory, bearer
from svckit.partner_signing import sign


def echo_ledger() -> FastAPI:
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def echo(path: str, request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse({"path": request.url.path, "query": request.url.query,
                             "sha256": hashlib.sha256(body).hexdigest()})

    return app


@pytest.fixture
async def served_gateway(
    gateway_settings: Any, service_transports: dict[str, httpx.AsyncBaseTransport],
) -> AsyncIterator[str]:
    settings: GatewaySettings = gateway_settings()
    app = create_app(settings, transports={**service_transports, "ledger": httpx.ASGITransport(app=echo_ledger())})
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, http="httptools", log_config=None,
                                           access_log=False, lifespan="on"))
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "the gateway did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_a_signed_call_over_http_with_an_encoded_path_and_query(
    served_gateway: str, make_user: UserFactory, login: Login,
) -> None:
    async with httpx.AsyncClient(base_url=served_gateway) as client:
        admin = bearer(await login(client, await make_user(Role.ADMIN)))
        code = f"boc-{secrets.token_hex(4)}"
        await client.post("/api/v1/auth/partners", json={"code": code, "name": "中国银行天津分行"}, headers=admin)
        key = (await client.post(f"/api/v1/auth/partners/{code}/keys", headers=admin)).json()
        path = "/api/v1/partner/bank/v1/files/%E5%AF%B9%E8%B4%A6%20file"
        body = b"2026-11-23,DI-1,100.00\n" * 1000
        headers = sign(key_id=key["key_id"], secret=key["secret"], method="POST", path=path,
                       query="name=a+b&day=2026-11-23", body=body)
        request = client.build_request("POST", "/", content=body, headers=headers)
        # Sent exactly as written, so the client library cannot re-encode what was signed.
        request.url = request.url.copy_with(raw_path=(path + "?day=2026-11-23&name=a%20b").encode())
        response = await client.send(request)
        wrong = await client.send(client.build_request("POST", path.replace("%20", "+"), content=body,
                                                       headers=headers))
    assert response.status_code == 200, response.text
    assert response.json() == {"path": "/v1/bank/v1/files/对账 file", "query": "day=2026-11-23&name=a%20b",
                               "sha256": hashlib.sha256(body).hexdigest()}
    assert wrong.json()["code"] == "partner_signature_invalid"  # another path than the one signed
