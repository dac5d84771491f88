"""Who a session is, answered from memory while the database announces no change to the user.

The copy must never outlive a change: a logout, a revocation, a deactivation behind the API's
back, in this process or another one, and a lost listener connection (notifications missed) all
end it. The parts are tested on their own first, then with gateways on a real database.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from gateway_service import sessions, tokens
from gateway_service.accounts import Principal
from gateway_service.app import create_app
from gateway_service.models import User
from gateway_service.principals import PrincipalCache
from gateway_service.roles import Role
from gateway_service.settings import GatewaySettings
from gateway_service.state import GatewayState
from gateway_service.testing import Login, UserFactory, assert_problem, bearer
from svckit.db import Database, libpq_dsn
from svckit.errors import Unauthorized
from svckit.testing.asgi import running
from svckit.testing.plugin import StackDatabase
from svckit.timeutil import utcnow

CALLER = "/api/v1/org/v1/caller"
SECRET = "k" * 10 + "0123456789abcdefghijklmnopqrstuv"


def principal(user_id: uuid.UUID | None = None) -> Principal:
    return Principal(user_id or uuid.uuid4(), "ann", frozenset({"agent"}), uuid.uuid4())


def live_cache(**options: Any) -> PrincipalCache:
    cache = PrincipalCache(**{"ttl_seconds": 60.0, **options})
    cache.live = True
    return cache


# The parts -----------------------------------------------------------------------------------------


def test_nothing_is_answered_from_memory_without_a_listener() -> None:
    cache, ann = PrincipalCache(60.0), principal()
    cache.remember(ann, cache.generation)
    assert cache.get(ann.session_id, ann.user_id) is None
    cache.live = True
    cache.remember(ann, cache.generation)
    assert cache.get(ann.session_id, ann.user_id) == ann
    cache.live = False  # the listener lost its connection
    assert cache.get(ann.session_id, ann.user_id) is None


def test_a_read_that_raced_a_change_is_not_kept() -> None:
    cache, ann = live_cache(), principal()
    began = cache.generation
    cache.heard(str(ann.user_id))  # the user changed while their row was being read
    cache.remember(ann, began)
    assert cache.get(ann.session_id, ann.user_id) is None
    cache.remember(ann, cache.generation)
    assert cache.get(ann.session_id, ann.user_id) == ann


def test_a_change_forgets_every_session_of_that_user_and_no_one_else() -> None:
    cache, user_id = live_cache(), uuid.uuid4()
    phone, laptop, bob = principal(user_id), principal(user_id), principal()
    for p in (phone, laptop, bob):
        cache.remember(p, cache.generation)
    cache.heard(str(user_id))
    assert cache.get(phone.session_id, user_id) is None
    assert cache.get(laptop.session_id, user_id) is None
    assert cache.get(bob.session_id, bob.user_id) == bob
    cache.heard("not a uuid")  # unreadable: forget everyone rather than guess
    assert len(cache) == 0


def test_entries_expire_and_the_oldest_go_first_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("gateway_service.principals.time.monotonic", lambda: now[0])
    cache = live_cache(ttl_seconds=30.0, max_entries=2)
    first, second, third = principal(), principal(), principal()
    for p in (first, second, third):
        cache.remember(p, cache.generation)
    assert cache.get(first.session_id, first.user_id) is None
    assert cache.get(third.session_id, third.user_id) == third
    now[0] += 30.0
    assert cache.get(third.session_id, third.user_id) is None
    assert len(cache) == 1  # second is still held until asked for or pushed out
    assert PrincipalCache(0.0).get(first.session_id, first.user_id) is None


def _mint(**overrides: Any) -> str:
    values: dict[str, Any] = {"user_id": uuid.uuid4(), "session_id": uuid.uuid4(), "username": "ann",
                              "roles": ["agent"], "now": utcnow(), "ttl": timedelta(minutes=15), **overrides}
    return tokens.mint_access_token(SECRET, **values)


def test_a_token_is_verified_once_and_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []
    verify = tokens.verify_access_token

    def counting(secret: str, token: str) -> tokens.AccessClaims:
        checked.append(token)
        return verify(secret, token)

    monkeypatch.setattr(tokens, "verify_access_token", counting)
    verified, token = tokens.VerifiedTokens(SECRET), _mint(ttl=timedelta(minutes=1))
    assert verified.claims(token) == verified.claims(token)
    assert checked == [token]
    # A token changed by one character is a different token: checked, and refused.
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(Unauthorized) as refused:
        verified.claims(tampered)
    assert refused.value.code == "invalid_token"
    later = verified.claims(token).expires_at + tokens.LEEWAY_SECONDS
    monkeypatch.setattr("gateway_service.tokens.time.time", lambda: later)
    with pytest.raises(Unauthorized) as expired:
        verified.claims(token)
    assert expired.value.code == "token_expired"


# With a real database --------------------------------------------------------------------------------


Started = Callable[..., Any]


@pytest.fixture
def started(
    gateway_settings: Callable[..., GatewaySettings], service_transports: dict[str, httpx.AsyncBaseTransport],
) -> Callable[[], Any]:
    """A gateway (its app, to look at its state, and a client), ready once its listener is subscribed."""

    @asynccontextmanager
    async def start() -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        app = create_app(gateway_settings(), transports=service_transports)
        async with running(app, base_url="http://gateway.test") as client:
            await _until(lambda: _state(app).principals.live, "the listener to subscribe")
            yield app, client

    return start


def _state(app: FastAPI) -> GatewayState:
    state = app.state.gateway
    assert isinstance(state, GatewayState)
    return state


async def _until(condition: Callable[[], bool | Awaitable[bool]], what: str, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            done = condition()
            if done if isinstance(done, bool) else await done:
                return
            await asyncio.sleep(0.01)
    raise AssertionError(f"waited in vain for {what}")  # pragma: no cover - asyncio.timeout raises first


def _reads_of_the_database(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """Each time a proxied call reads its session and user from the database (the session id)."""
    reads: list[uuid.UUID] = []
    principal_for = sessions.principal_for

    async def counting(session: Any, claims: tokens.AccessClaims) -> Principal:
        reads.append(claims.session_id)
        return await principal_for(session, claims)

    monkeypatch.setattr(sessions, "principal_for", counting)
    return reads


async def test_a_session_is_read_once_then_answered_from_memory(
    started: Started, make_user: UserFactory, login: Login, monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = _reads_of_the_database(monkeypatch)
    async with started() as (app, gateway):
        headers = bearer(await login(gateway, await make_user()))
        for _ in range(3):
            assert (await gateway.get(CALLER, headers=headers)).status_code == 200
        assert len(reads) == 1
        assert len(_state(app).principals) == 1


async def test_a_change_behind_the_apis_back_is_heard_from_the_database(
    started: Started, make_user: UserFactory, login: Login, gateway_db: Database,
) -> None:
    async with started() as (_, gateway):
        account = await make_user()
        headers = bearer(await login(gateway, account))
        assert (await gateway.get(CALLER, headers=headers)).status_code == 200  # now held in memory
        async with gateway_db.sessionmaker.begin() as session:
            await session.execute(update(User).where(User.id == uuid.UUID(account.id)).values(active=False))

        async def refused() -> bool:
            return (await gateway.get(CALLER, headers=headers)).status_code == 401

        await _until(refused, "the deactivation to be heard", seconds=2.0)
        assert_problem(await gateway.get(CALLER, headers=headers), 401, "account_inactive")


async def test_a_logout_at_one_gateway_process_ends_the_session_at_the_other(
    started: Started, make_user: UserFactory, login: Login,
) -> None:
    async with started() as (_, first), started() as (_, second):
        headers = bearer(await login(first, await make_user()))
        for gateway in (first, second):
            assert (await gateway.get(CALLER, headers=headers)).status_code == 200
        assert (await first.post("/api/v1/auth/logout", headers=headers)).status_code == 204
        # The process that served the logout refuses at once; the other once the database tells it.
        assert_problem(await first.get(CALLER, headers=headers), 401, "session_revoked")

        async def refused() -> bool:
            return (await second.get(CALLER, headers=headers)).status_code == 401

        await _until(refused, "the other process to hear of the logout", seconds=2.0)


async def test_a_role_change_by_the_admin_api_applies_to_the_next_call(
    started: Started, make_user: UserFactory, login: Login,
) -> None:
    async with started() as (_, gateway):
        admin, account = await make_user(Role.ADMIN), await make_user(Role.AGENT)
        headers = bearer(await login(gateway, account))
        assert (await gateway.get(CALLER, headers=headers)).json()["roles"] == ["agent"]
        changed = await gateway.patch(f"/api/v1/auth/users/{account.id}", headers=bearer(await login(gateway, admin)),
                                      json={"roles": ["supervisor"]})
        assert changed.status_code == 200, changed.text
        assert (await gateway.get(CALLER, headers=headers)).json()["roles"] == ["supervisor"]


async def test_a_lost_listener_stops_the_memory_and_what_changed_meanwhile_is_not_missed(
    started: Started, make_user: UserFactory, login: Login, gateway_db: Database, stack_db: StackDatabase,
) -> None:
    async with started() as (app, gateway):
        cache = _state(app).principals
        account = await make_user()
        headers = bearer(await login(gateway, account))
        assert (await gateway.get(CALLER, headers=headers)).status_code == 200
        assert len(cache) == 1
        # The listener's connection dies; the user is deactivated before it is back.
        admin = await asyncpg.connect(libpq_dsn(stack_db.dsn("gateway")))
        try:
            ended = await admin.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                         "WHERE application_name = 'gateway-principals'")
            assert ended >= 1
        finally:
            await admin.close()
        await _until(lambda: not cache.live or len(cache) == 0, "the listener to notice its loss")
        async with gateway_db.sessionmaker.begin() as session:
            await session.execute(update(User).where(User.id == uuid.UUID(account.id)).values(active=False))
        assert_problem(await gateway.get(CALLER, headers=headers), 401, "account_inactive")
        await _until(lambda: cache.live, "the listener to subscribe again")
        assert_problem(await gateway.get(CALLER, headers=headers), 401, "account_inactive")
