"""User administration: admin only, validated input, role changes and deactivation take effect at once."""

from __future__ import annotations

import secrets

import httpx

from gateway_service.roles import Role
from gateway_service.testing import Login, UserFactory, assert_problem, bearer

USERS = "/api/v1/auth/users"


def new_user(**fields: object) -> dict[str, object]:
    return {"username": f"New.User-{secrets.token_hex(4)}", "password": "correct horse battery", "roles": ["agent"],
            **fields}


async def test_admin_creates_a_user_who_can_then_log_in(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    admin = await login(gateway, await make_user(Role.ADMIN))
    payload = new_user(roles=["supervisor", "agent", "agent"])

    response = await gateway.post(USERS, json=payload, headers=bearer(admin))

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["username"] == str(payload["username"]).lower()
    assert created["roles"] == ["agent", "supervisor"]
    assert created["active"] is True
    assert "password" not in response.text
    login_response = await gateway.post("/api/v1/auth/login", json={"username": payload["username"],
                                                                    "password": payload["password"]})
    assert login_response.status_code == 200


async def test_non_admins_cannot_manage_users(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    supervisor = await login(gateway, await make_user(Role.SUPERVISOR, Role.FINANCE))
    victim = await make_user()
    assert_problem(await gateway.post(USERS, json=new_user(), headers=bearer(supervisor)), 403, "role_required")
    assert_problem(await gateway.get(USERS, headers=bearer(supervisor)), 403, "role_required")
    patch = await gateway.patch(f"{USERS}/{victim.id}", json={"roles": ["admin"]}, headers=bearer(supervisor))
    assert_problem(patch, 403, "role_required")
    assert_problem(await gateway.post(USERS, json=new_user()), 401, "not_authenticated")


async def test_validation_errors_name_the_field(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    admin = await login(gateway, await make_user(Role.ADMIN))

    short = assert_problem(await gateway.post(USERS, json=new_user(password="Zq9-tiny"), headers=bearer(admin)),
                           422, "validation_failed")
    bad_role = assert_problem(await gateway.post(USERS, json=new_user(roles=["agent", "emperor"]),
                                                 headers=bearer(admin)), 422, "validation_failed")
    missing = assert_problem(await gateway.post("/api/v1/auth/login", json={"username": "x"}), 422,
                             "validation_failed")

    assert [e["field"] for e in short["errors"]] == ["password"]
    assert "password" in short["detail"]
    assert [e["field"] for e in bad_role["errors"]] == ["roles.1"]
    assert [e["field"] for e in missing["errors"]] == ["password"]
    assert "Zq9-tiny" not in str(short)  # the rejected password is not echoed back


async def test_usernames_are_unique_regardless_of_case(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    admin, existing = await login(gateway, await make_user(Role.ADMIN)), await make_user()
    response = await gateway.post(USERS, json=new_user(username=existing.username.upper()), headers=bearer(admin))
    assert_problem(response, 409, "username_taken")


async def test_users_are_listed_in_keyset_pages(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    admin = await login(gateway, await make_user(Role.ADMIN))
    mine = {(await make_user()).username for _ in range(3)}
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await gateway.get(USERS, params=params, headers=bearer(admin))
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [u["username"] for u in body["items"]]
        cursor = body.get("next_cursor")
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen))
    assert mine <= set(seen)
    bad = await gateway.get(USERS, params={"cursor": "garbage!"}, headers=bearer(admin))
    assert_problem(bad, 422, "invalid_cursor")


async def test_role_changes_apply_to_the_next_request(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    admin, account = await login(gateway, await make_user(Role.ADMIN)), await make_user(Role.AGENT)
    pair = await login(gateway, account)

    response = await gateway.patch(f"{USERS}/{account.id}", json={"roles": ["back_office", "compliance"]},
                                   headers=bearer(admin))

    assert response.status_code == 200
    assert response.json()["roles"] == ["back_office", "compliance"]
    caller = await gateway.get("/api/v1/ledger/v1/caller", headers=bearer(pair))
    assert caller.json()["roles"] == ["back_office", "compliance"]


async def test_password_reset_ends_sessions_and_changes_the_password(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    admin, account = await login(gateway, await make_user(Role.ADMIN)), await make_user()
    pair = await login(gateway, account)

    response = await gateway.patch(f"{USERS}/{account.id}", json={"password": "a brand new passphrase"},
                                   headers=bearer(admin))

    assert response.status_code == 200, response.text
    assert_problem(await gateway.get("/api/v1/auth/me", headers=bearer(pair)), 401, "session_revoked")
    old = await gateway.post("/api/v1/auth/login", json={"username": account.username, "password": account.password})
    assert_problem(old, 401, "invalid_credentials")
    new = await gateway.post("/api/v1/auth/login", json={"username": account.username,
                                                         "password": "a brand new passphrase"})
    assert new.status_code == 200


async def test_reactivated_user_can_log_in_again(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    admin, account = await login(gateway, await make_user(Role.ADMIN)), await make_user()
    await gateway.patch(f"{USERS}/{account.id}", json={"active": False}, headers=bearer(admin))
    response = await gateway.patch(f"{USERS}/{account.id}", json={"active": True}, headers=bearer(admin))
    assert response.status_code == 200
    assert response.json()["active"] is True
    await login(gateway, account)


async def test_an_admin_cannot_lock_themself_out(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    account = await make_user(Role.ADMIN)
    admin = await login(gateway, account)
    for change in ({"active": False}, {"roles": ["agent"]}):
        response = await gateway.patch(f"{USERS}/{account.id}", json=change, headers=bearer(admin))
        assert_problem(response, 409, "self_lockout")
    assert (await gateway.get("/api/v1/auth/me", headers=bearer(admin))).json()["roles"] == ["admin"]


async def test_unknown_user_id_is_not_found(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    admin = await login(gateway, await make_user(Role.ADMIN))
    missing = "00000000-0000-4000-8000-000000000000"
    assert_problem(await gateway.patch(f"{USERS}/{missing}", json={"active": False}, headers=bearer(admin)),
                   404, "user_not_found")
    assert_problem(await gateway.patch(f"{USERS}/not-a-uuid", json={}, headers=bearer(admin)),
                   422, "validation_failed")
