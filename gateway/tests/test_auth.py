"""Login, tokens, refresh rotation with theft detection, logout, and deactivated users."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import jwt
import pytest
from sqlalchemy import update

from gateway_service import passwords, tokens
from gateway_service.models import User
from gateway_service.roles import Role
from gateway_service.testing import Account, GatewayFactory, Login, UserFactory, assert_problem, bearer
from svckit.db import Database
from svckit.timeutil import utcnow

CALLER = "/api/v1/org/v1/caller"


async def test_login_then_a_service_sees_the_user_behind_the_gateway(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    account = await make_user(Role.SUPERVISOR, Role.FINANCE)
    pair = await login(gateway, account)
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 15 * 60
    assert pair["refresh_token"]

    response = await gateway.get(CALLER, headers=bearer(pair))

    assert response.status_code == 200, response.text
    assert response.json() | {"request_id": None} == {
        "service": "org", "caller_service": "gateway", "user_id": account.id, "username": account.username,
        "roles": ["finance", "supervisor"], "request_id": None,
    }


async def test_access_token_carries_the_documented_claims(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login, jwt_secret: str,
) -> None:
    account = await make_user(Role.AGENT)
    pair = await login(gateway, account)
    claims = jwt.decode(pair["access_token"], jwt_secret, algorithms=["HS256"], audience="salesteam-api",
                        issuer="salesteam-gateway")
    assert claims["sub"] == account.id
    assert claims["name"] == account.username
    assert claims["roles"] == ["agent"]
    assert uuid.UUID(claims["sid"])
    assert claims["jti"]
    assert claims["exp"] - claims["iat"] == 15 * 60


async def test_wrong_password_and_unknown_user_get_the_same_answer(
    gateway: httpx.AsyncClient, make_user: UserFactory,
) -> None:
    account = await make_user()
    wrong = await gateway.post("/api/v1/auth/login", json={"username": account.username, "password": "x" * 14})
    unknown = await gateway.post("/api/v1/auth/login", json={"username": "nobody-" + uuid.uuid4().hex[:8],
                                                             "password": "x" * 14})
    first, second = assert_problem(wrong, 401, "invalid_credentials"), assert_problem(unknown, 401,
                                                                                      "invalid_credentials")
    assert {k: v for k, v in first.items() if k != "request_id"} == {
        k: v for k, v in second.items() if k != "request_id"}


async def test_unknown_user_still_costs_a_full_password_verification(
    gateway: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    verified: list[str | None] = []
    real = passwords._verify

    def spy(stored: str | None, password: str) -> bool:
        verified.append(stored)
        return real(stored, password)

    monkeypatch.setattr(passwords, "_verify", spy)
    response = await gateway.post("/api/v1/auth/login", json={"username": "ghost-" + uuid.uuid4().hex[:8],
                                                              "password": "y" * 14})
    assert_problem(response, 401, "invalid_credentials")
    assert verified == [None]  # verified against the dummy hash, not skipped


async def test_username_is_case_insensitive(gateway: httpx.AsyncClient, make_user: UserFactory) -> None:
    account = await make_user()
    response = await gateway.post("/api/v1/auth/login", json={"username": account.username.upper(),
                                                              "password": account.password})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("header", [None, "Bearer not-a-jwt", "Basic dXNlcjpwYXNz"])
async def test_requests_without_a_valid_access_token_are_refused(
    gateway: httpx.AsyncClient, header: str | None,
) -> None:
    headers = {"Authorization": header} if header else {}
    response = await gateway.get(CALLER, headers=headers)
    body = assert_problem(response, 401, "not_authenticated" if header != "Bearer not-a-jwt" else "invalid_token")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Traceback" not in str(body)


async def test_forged_and_expired_access_tokens_are_refused(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login, jwt_secret: str,
) -> None:
    account = await make_user()
    claims = jwt.decode((await login(gateway, account))["access_token"], options={"verify_signature": False})
    user_id, session_id = uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"])

    def token(secret: str, issued_ago: timedelta) -> str:
        return tokens.mint_access_token(secret, user_id=user_id, session_id=session_id, username=account.username,
                                        roles=["admin"], now=utcnow() - issued_ago, ttl=timedelta(minutes=15))

    forged = token("another-key-" + "z" * 40, timedelta(0))
    expired = token(jwt_secret, timedelta(minutes=20))
    unsigned = jwt.encode({**claims, "roles": ["admin"]}, key=None, algorithm="none")

    assert_problem(await gateway.get(CALLER, headers={"Authorization": f"Bearer {forged}"}), 401, "invalid_token")
    assert_problem(await gateway.get(CALLER, headers={"Authorization": f"Bearer {unsigned}"}), 401, "invalid_token")
    assert_problem(await gateway.get(CALLER, headers={"Authorization": f"Bearer {expired}"}), 401, "token_expired")
    # The same claims signed with the real key and still fresh do work: the refusals above are about the token.
    fresh = token(jwt_secret, timedelta(0))
    assert (await gateway.get(CALLER, headers={"Authorization": f"Bearer {fresh}"})).status_code == 200


async def test_refresh_rotates_and_the_old_refresh_token_is_single_use(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    first = await login(gateway, await make_user())
    response = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (await gateway.get(CALLER, headers=bearer(second))).status_code == 200

    third = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200, third.text


async def test_reusing_a_refresh_token_revokes_the_whole_session(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    first = await login(gateway, await make_user())
    rotated = (await gateway.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()

    reuse = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})

    assert_problem(reuse, 401, "refresh_token_reused")
    # Every token of the family is dead now: the stolen one, the legitimate new pair, and the first access token.
    assert_problem(await gateway.get(CALLER, headers=bearer(rotated)), 401, "session_revoked")
    assert_problem(await gateway.get(CALLER, headers=bearer(first)), 401, "session_revoked")
    again = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert_problem(again, 401, "session_revoked")


async def test_other_sessions_of_the_user_survive_a_theft_in_one_session(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    account = await make_user()
    phone, laptop = await login(gateway, account), await login(gateway, account)
    await gateway.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    await gateway.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert (await gateway.get(CALLER, headers=bearer(laptop))).status_code == 200


async def test_unknown_refresh_token_is_refused(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": tokens.new_refresh_token()})
    assert_problem(response, 401, "invalid_refresh_token")


async def test_expired_refresh_token_is_refused(
    start_gateway: GatewayFactory, make_user: UserFactory, login: Login,
) -> None:
    async with start_gateway(refresh_token_ttl=timedelta(seconds=-1)) as gateway:
        pair = await login(gateway, await make_user())
        response = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert_problem(response, 401, "refresh_token_expired")


async def test_logout_stops_the_access_token_immediately(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    pair = await login(gateway, await make_user())
    assert (await gateway.get(CALLER, headers=bearer(pair))).status_code == 200

    response = await gateway.post("/api/v1/auth/logout", headers=bearer(pair))

    assert response.status_code == 204
    assert_problem(await gateway.get(CALLER, headers=bearer(pair)), 401, "session_revoked")
    assert_problem(await gateway.get("/api/v1/auth/me", headers=bearer(pair)), 401, "session_revoked")
    refresh = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert_problem(refresh, 401, "session_revoked")


async def test_me_returns_the_account(gateway: httpx.AsyncClient, make_user: UserFactory, login: Login) -> None:
    account = await make_user(Role.COMPLIANCE)
    response = await gateway.get("/api/v1/auth/me", headers=bearer(await login(gateway, account)))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["username"], body["roles"], body["active"]) == (
        account.id, account.username, ["compliance"], True)
    assert "password" not in str(body)
    assert "hash" not in str(body)


async def _deactivate(gateway: httpx.AsyncClient, admin_tokens: dict[str, str], account: Account) -> None:
    response = await gateway.patch(f"/api/v1/auth/users/{account.id}", json={"active": False},
                                   headers=bearer(admin_tokens))
    assert response.status_code == 200, response.text


async def test_a_deactivated_user_can_neither_log_in_nor_use_tokens(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    admin, account = await make_user(Role.ADMIN), await make_user()
    pair = await login(gateway, account)

    await _deactivate(gateway, await login(gateway, admin), account)

    assert_problem(await gateway.get(CALLER, headers=bearer(pair)), 401, "session_revoked")
    refresh = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert_problem(refresh, 401, "session_revoked")
    relogin = await gateway.post("/api/v1/auth/login", json={"username": account.username,
                                                             "password": account.password})
    assert_problem(relogin, 401, "invalid_credentials")


async def test_tokens_of_a_user_deactivated_behind_our_back_stop_working(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login, gateway_db: Database,
) -> None:
    account = await make_user()
    pair = await login(gateway, account)
    # Deactivated without going through the API (so no session was revoked): the user check still refuses.
    async with gateway_db.sessionmaker.begin() as session:
        await session.execute(update(User).where(User.id == uuid.UUID(account.id)).values(active=False))
    assert_problem(await gateway.get(CALLER, headers=bearer(pair)), 401, "account_inactive")
