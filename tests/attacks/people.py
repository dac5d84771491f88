"""Users, logins and a small company made through the gateway's public API, as an attacker would meet them."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

# The stack's first administrator (the runner bootstraps it from the environment).
ADMIN_USERNAME = "attack-admin"
ADMIN_PASSWORD = "attack-" + secrets.token_urlsafe(18)
# Low enough that a test can exhaust a partner's bucket in a few calls and see it refill in seconds.
PARTNER_RATE_PER_SECOND = 1.0
PARTNER_BURST = 5
# Failed logins a username may have at once, and how fast it earns them back (a 2-second wait).
LOGIN_FAILURE_BURST = 5
LOGIN_FAILURE_RATE_PER_SECOND = 0.5
# Known to the tests, so they can forge tokens that differ from a real one in one respect only.
JWT_SECRET = secrets.token_urlsafe(48)
INTERNAL_SECRET = secrets.token_urlsafe(48)


def login(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    """Log in; returns the Authorization header of the new session."""
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def admin_login(client: httpx.Client) -> dict[str, str]:
    return login(client, ADMIN_USERNAME, ADMIN_PASSWORD)


@dataclass(frozen=True)
class User:
    id: str
    username: str
    password: str
    headers: dict[str, str]


def new_user(client: httpx.Client, admin: dict[str, str], *roles: str, institutions: tuple[int, ...] = ()) -> User:
    """A user made by the administrator through /api/v1/auth/users, logged in."""
    username, password = f"u-{secrets.token_hex(5)}", secrets.token_urlsafe(16)
    created = client.post("/api/v1/auth/users", headers=admin, json={
        "username": username, "password": password, "roles": list(roles), "institution_ids": list(institutions)})
    assert created.status_code == 201, created.text
    return User(str(created.json()["id"]), username, password, login(client, username, password))


def eventually(attempt: Callable[[], httpx.Response], accept: Callable[[httpx.Response], bool],
               seconds: float = 60.0) -> httpx.Response:
    """Retry until `accept`: services learn about new agents from org's change feed a poll later, and
    on a busy machine a service may miss the gateway's short OpenAPI probe."""
    deadline = time.monotonic() + seconds
    while True:
        response = attempt()
        if accept(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.3)


def complete_document(gateway: str) -> dict[str, Any]:
    """The merged OpenAPI document once every service is in it."""
    response = eventually(lambda: httpx.get(f"{gateway}/openapi.json", timeout=30),
                          lambda r: r.status_code == 200 and r.json().get("x-unavailable-services") == [])
    document: dict[str, Any] = response.json()
    assert document["x-unavailable-services"] == [], "every service must be in the document"
    return document


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body
