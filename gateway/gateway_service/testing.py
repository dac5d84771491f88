"""Test helpers for the gateway's tests and for end-to-end tests that go through it (no pytest here)."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Account:
    """A user created for a test, with the password it can log in with."""

    id: str
    username: str
    password: str
    roles: list[str]


GatewayFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
UserFactory = Callable[..., Awaitable[Account]]
Login = Callable[[httpx.AsyncClient, Account], Awaitable[dict[str, Any]]]


async def login(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    """Log in through the gateway; returns the token pair."""
    response = await client.post("/api/v1/auth/login", json={"username": account.username,
                                                             "password": account.password})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def bearer(tokens: Mapping[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The answer is RFC 9457 problem+json with the given status and stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code), body
    assert {"type", "title", "detail"} <= body.keys()
    return body


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
