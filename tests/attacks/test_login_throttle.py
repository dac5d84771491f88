"""Password guessing against the real gateway: after a burst of failed logins a username is refused
with 429 problem+json and Retry-After, the right password included, and it is let in again once that
time has passed; other usernames are not affected, and successful logins never count."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.attacks.people import LOGIN_FAILURE_BURST, LOGIN_FAILURE_RATE_PER_SECOND, admin_login, login, new_user
from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def client(stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        yield client


def _attempt(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_successful_logins_never_count(client: httpx.Client) -> None:
    user = new_user(client, admin_login(client), "agent")
    for _ in range(LOGIN_FAILURE_BURST + 3):
        login(client, user.username, user.password)


def test_guessing_a_password_is_slowed_then_allowed_again(client: httpx.Client) -> None:
    admin = admin_login(client)
    victim, bystander = new_user(client, admin, "agent"), new_user(client, admin, "agent")
    for _ in range(LOGIN_FAILURE_BURST):
        assert _attempt(client, victim.username, "wrong-password-123").status_code == 401
    # Out of tries: even the right password waits (a guesser must not learn which guess was right).
    limited = _attempt(client, victim.username.upper(), victim.password)  # usernames are case-insensitive
    assert limited.status_code == 429, limited.text
    assert limited.headers["content-type"].startswith("application/problem+json")
    body = limited.json()
    assert (body["status"], body["code"]) == (429, "rate_limited"), body
    wait = int(limited.headers["retry-after"])
    assert 1 <= wait <= int(1 / LOGIN_FAILURE_RATE_PER_SECOND) + 1
    login(client, bystander.username, bystander.password)  # another username is not slowed
    time.sleep(wait)
    login(client, victim.username, victim.password)
