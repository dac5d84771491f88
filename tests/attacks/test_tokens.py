"""Access tokens attacked over real HTTP, on the gateway's own routes and on each service behind it:
every forgery differs from a working token in one respect only, and each is refused with a 401
problem+json. (gateway/tests/test_auth.py covers the primitives in-process; this is the whole path.)
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest

from gateway_service import tokens
from svckit.internal_auth import mint_internal_token
from svckit.timeutil import utcnow
from tests.attacks.people import INTERNAL_SECRET, JWT_SECRET, User, admin_login, new_user
from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e
# One route the gateway answers itself, and one per service behind it.
ROUTES = ["/api/v1/auth/me", *(f"/api/v1/{s}/v1/caller" for s in ("org", "performance", "activity", "ledger"))]


@pytest.fixture(scope="module")
def client(stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway, timeout=30) as client:
        yield client


@pytest.fixture
def agent(client: httpx.Client) -> User:
    return new_user(client, admin_login(client), "agent")


def _claims(user: User) -> dict[str, Any]:
    token = user.headers["Authorization"].removeprefix("Bearer ")
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert (body["status"], body["code"]) == (401, code), body
    assert "Traceback" not in response.text


def _assert_everywhere(client: httpx.Client, token: str, code: str) -> None:
    for route in ROUTES:
        _refused(client.get(route, headers={"Authorization": f"Bearer {token}"}), code)


def forgeries(claims: dict[str, Any], real: str) -> dict[str, tuple[str, str]]:
    """name -> (token, expected code). Each differs from `real` in one respect."""
    now = utcnow()
    fresh = {**claims, "iat": now, "exp": now + timedelta(minutes=10)}
    header, _, signature = real.split(".")
    elevated = {**claims, "roles": ["admin"]}
    return {
        "another key": (jwt.encode(fresh, "another-key-" + "z" * 40, algorithm="HS256"), "invalid_token"),
        "alg none": (jwt.encode(elevated, key=None, algorithm="none"), "invalid_token"),
        "alg none, signature kept": (
            ".".join([_b64(b'{"alg":"none","typ":"JWT"}'), _b64(json.dumps(elevated).encode()), signature]),
            "invalid_token"),
        "claims tampered, signature kept": (
            ".".join([header, _b64(json.dumps(elevated).encode()), signature]), "invalid_token"),
        "HS512 with the right key": (jwt.encode(fresh, JWT_SECRET, algorithm="HS512"), "invalid_token"),
        "another audience": (jwt.encode({**fresh, "aud": "someone-else"}, JWT_SECRET, algorithm="HS256"),
                             "invalid_token"),
        "another issuer": (jwt.encode({**fresh, "iss": "evil"}, JWT_SECRET, algorithm="HS256"), "invalid_token"),
        "no session id": (jwt.encode({k: v for k, v in fresh.items() if k != "sid"}, JWT_SECRET, algorithm="HS256"),
                          "invalid_token"),
        "a session that never was": (jwt.encode({**fresh, "sid": str(uuid.uuid4())}, JWT_SECRET, algorithm="HS256"),
                                     "invalid_token"),
        "expired": (jwt.encode({**claims, "iat": now - timedelta(minutes=30), "exp": now - timedelta(minutes=1)},
                               JWT_SECRET, algorithm="HS256"), "token_expired"),
        "an internal token": (mint_internal_token(INTERNAL_SECRET, caller_service="gateway", audience="org",
                                                  user_id=claims["sub"], roles=frozenset({"admin"})),
                              "invalid_token"),
        "not a token": ("x" * 5000, "invalid_token"),
    }


def test_the_real_token_works_and_every_forgery_of_it_is_refused(client: httpx.Client, agent: User) -> None:
    real = agent.headers["Authorization"].removeprefix("Bearer ")
    for route in ROUTES:
        assert client.get(route, headers=agent.headers).status_code == 200, route
    # Signed with the right key and otherwise identical, a fresh token works: each refusal is about its flaw.
    claims = _claims(agent)
    now = utcnow()
    remade = jwt.encode({**claims, "iat": now, "exp": now + timedelta(minutes=10)}, JWT_SECRET, algorithm="HS256")
    assert client.get(ROUTES[1], headers={"Authorization": f"Bearer {remade}"}).status_code == 200
    for name, (token, code) in forgeries(claims, real).items():
        try:
            _assert_everywhere(client, token, code)
        except AssertionError as failure:
            raise AssertionError(f"forgery {name!r}: {failure}") from None


def test_another_users_session_does_not_carry_my_name(client: httpx.Client, agent: User) -> None:
    other = new_user(client, admin_login(client), "agent")
    mine, theirs = _claims(agent), _claims(other)
    now = utcnow()
    # Signed with the real key (as if it leaked), a token naming my user with their session is still refused.
    mixed = tokens.mint_access_token(JWT_SECRET, user_id=uuid.UUID(mine["sub"]), session_id=uuid.UUID(theirs["sid"]),
                                     username=mine["name"], roles=["agent"], now=now, ttl=timedelta(minutes=5))
    _assert_everywhere(client, mixed, "invalid_token")


def test_the_refresh_token_is_not_an_access_token(client: httpx.Client) -> None:
    admin = admin_login(client)
    user = new_user(client, admin, "agent")
    pair = client.post("/api/v1/auth/login", json={"username": user.username, "password": user.password}).json()
    _assert_everywhere(client, pair["refresh_token"], "invalid_token")


@pytest.mark.parametrize("where", ["query", "cookie", "no scheme", "basic", "empty"])
def test_a_token_anywhere_but_the_bearer_header_is_not_accepted(client: httpx.Client, agent: User,
                                                                where: str) -> None:
    token = agent.headers["Authorization"].removeprefix("Bearer ")
    attempts = {
        "query": {"params": {"access_token": token}},
        "cookie": {"headers": {"Cookie": f"access_token={token}"}},
        "no scheme": {"headers": {"Authorization": token}},
        "basic": {"headers": {"Authorization": "Basic " + base64.b64encode(f"x:{token}".encode()).decode()}},
        "empty": {"headers": {"Authorization": "Bearer"}},
    }
    for route in ROUTES:
        _refused(client.get(route, **attempts[where]), "not_authenticated")


def test_logout_ends_the_token_on_every_service_at_once(client: httpx.Client, agent: User) -> None:
    assert client.post("/api/v1/auth/logout", headers=agent.headers).status_code == 204
    _assert_everywhere(client, agent.headers["Authorization"].removeprefix("Bearer "), "session_revoked")


def test_a_disabled_user_is_refused_everywhere_and_cannot_log_in(client: httpx.Client, agent: User) -> None:
    admin = admin_login(client)
    disabled = client.patch(f"/api/v1/auth/users/{agent.id}", headers=admin, json={"active": False})
    assert disabled.status_code == 200, disabled.text
    _assert_everywhere(client, agent.headers["Authorization"].removeprefix("Bearer "), "session_revoked")
    relogin = client.post("/api/v1/auth/login", json={"username": agent.username, "password": agent.password})
    _refused(relogin, "invalid_credentials")


def test_the_services_refuse_anything_but_a_gateway_token(stack: RunningStack, agent: User) -> None:
    """The services' own ports answer only the internal token; a user's token or a forged one is 401."""
    user_token = agent.headers["Authorization"].removeprefix("Bearer ")
    for service in ("org", "performance", "activity", "ledger"):
        url = f"{stack.url(service)}/v1/caller"
        forged = {
            "a user's token": user_token,
            "signed with the jwt key": mint_internal_token(JWT_SECRET, caller_service="gateway", audience=service,
                                                           roles=frozenset({"admin"})),
            "for another service": mint_internal_token(INTERNAL_SECRET, caller_service="gateway",
                                                       audience="nobody", roles=frozenset({"admin"})),
            "expired": mint_internal_token(INTERNAL_SECRET, caller_service="gateway", audience=service,
                                           roles=frozenset({"admin"}), ttl=timedelta(seconds=-120)),
            "random": secrets.token_urlsafe(40),
        }
        for name, token in forged.items():
            response = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert response.status_code == 401, (service, name, response.text)
            assert response.headers["content-type"].startswith("application/problem+json"), (service, name)
        good = mint_internal_token(INTERNAL_SECRET, caller_service="gateway", audience=service)
        assert httpx.get(url, headers={"Authorization": f"Bearer {good}"}, timeout=10).status_code == 200, service
