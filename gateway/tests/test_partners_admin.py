"""Partner administration: admin only, the secret shown once and stored only encrypted, and the
partner_bank role kept away from people's accounts."""

from __future__ import annotations

import secrets

import httpx
import pytest
from sqlalchemy import select

from gateway_service.models import PartnerKey
from gateway_service.partners import key_context
from gateway_service.roles import Role
from gateway_service.secretbox import SecretBox, SecretUnreadable
from gateway_service.testing import Login, UserFactory, assert_problem, bearer
from svckit.db import Database

PARTNERS = "/api/v1/auth/partners"


def new_code() -> str:
    return f"Bank-{secrets.token_hex(4)}"


async def test_an_admin_registers_a_bank_and_issues_a_key_seen_once(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login, gateway_db: Database, partner_master_key: str,
) -> None:
    admin = bearer(await login(gateway, await make_user(Role.ADMIN)))
    code = new_code()

    created = await gateway.post(PARTNERS, json={"code": code, "name": "中国建设银行天津分行"}, headers=admin)
    issued = await gateway.post(f"{PARTNERS}/{code.lower()}/keys", headers=admin)
    listed = await gateway.get(PARTNERS, headers=admin)
    one = await gateway.get(f"{PARTNERS}/{code}", headers=admin)

    assert created.status_code == 201, created.text
    assert created.json() | {"created_at": None, "updated_at": None} == {
        "code": code.lower(), "name": "中国建设银行天津分行", "kind": "bank", "active": True, "keys": [],
        "created_at": None, "updated_at": None}
    assert issued.status_code == 201, issued.text
    key_id, secret = issued.json()["key_id"], issued.json()["secret"]
    assert key_id.startswith("pk_")
    assert len(secret) >= 43
    for answer in (listed, one):
        assert answer.status_code == 200
        assert secret not in answer.text
        assert "secret" not in answer.text
    [mine] = [p for p in listed.json() if p["code"] == code.lower()]
    assert [k["key_id"] for k in mine["keys"]] == [key_id]
    assert one.json()["keys"] == [{"key_id": key_id, "created_at": issued.json()["created_at"], "revoked_at": None}]

    async with gateway_db.sessionmaker() as session:
        stored = (await session.execute(select(PartnerKey).where(PartnerKey.key_id == key_id))).scalar_one()
    assert secret.encode() not in stored.secret_ciphertext
    box = SecretBox(partner_master_key)
    assert box.open(stored.secret_ciphertext, context=key_context(key_id)) == secret
    with pytest.raises(SecretUnreadable):  # bound to its own key id
        box.open(stored.secret_ciphertext, context=key_context("pk_other"))


async def test_non_admins_cannot_touch_partners(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    finance = bearer(await login(gateway, await make_user(Role.FINANCE, Role.BACK_OFFICE)))
    assert_problem(await gateway.post(PARTNERS, json={"code": new_code(), "name": "x"}, headers=finance), 403,
                   "role_required")
    assert_problem(await gateway.get(PARTNERS, headers=finance), 403, "role_required")
    assert_problem(await gateway.post(f"{PARTNERS}/anything/keys", headers=finance), 403, "role_required")
    assert_problem(await gateway.get(PARTNERS), 401, "not_authenticated")


async def test_refusals_are_named(gateway: httpx.AsyncClient, make_user: UserFactory, login: Login) -> None:
    admin = bearer(await login(gateway, await make_user(Role.ADMIN)))
    code = new_code()
    assert (await gateway.post(PARTNERS, json={"code": code, "name": "A"}, headers=admin)).status_code == 201

    taken = await gateway.post(PARTNERS, json={"code": code.upper(), "name": "B"}, headers=admin)
    bad = await gateway.post(PARTNERS, json={"code": "no spaces", "name": "B", "kind": "insurer"}, headers=admin)

    assert assert_problem(taken, 409, "partner_code_taken")["field"] == "code"
    assert {e["field"] for e in assert_problem(bad, 422, "validation_failed")["errors"]} == {"code", "kind"}
    assert_problem(await gateway.post(f"{PARTNERS}/nobody/keys", headers=admin), 404, "partner_not_found")
    assert_problem(await gateway.patch(f"{PARTNERS}/nobody", json={"active": False}, headers=admin), 404,
                   "partner_not_found")
    assert_problem(await gateway.post(f"{PARTNERS}/{code}/keys/pk_nope/revoke", headers=admin), 404,
                   "partner_key_not_found")


async def test_a_key_is_revoked_only_through_its_own_partner(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    admin = bearer(await login(gateway, await make_user(Role.ADMIN)))
    first, second = new_code(), new_code()
    for code in (first, second):
        await gateway.post(PARTNERS, json={"code": code, "name": code}, headers=admin)
    key_id = (await gateway.post(f"{PARTNERS}/{first}/keys", headers=admin)).json()["key_id"]
    wrong = await gateway.post(f"{PARTNERS}/{second}/keys/{key_id}/revoke", headers=admin)
    assert_problem(wrong, 404, "partner_key_not_found")
    assert (await gateway.get(f"{PARTNERS}/{first}", headers=admin)).json()["keys"][0]["revoked_at"] is None


async def test_renaming_keeps_the_code(gateway: httpx.AsyncClient, make_user: UserFactory, login: Login) -> None:
    admin = bearer(await login(gateway, await make_user(Role.ADMIN)))
    code = new_code().lower()
    await gateway.post(PARTNERS, json={"code": code, "name": "old"}, headers=admin)
    renamed = await gateway.patch(f"{PARTNERS}/{code}", json={"name": "中国银行天津分行"}, headers=admin)
    assert (renamed.json()["code"], renamed.json()["name"], renamed.json()["active"]) == (
        code, "中国银行天津分行", True)


async def test_the_partner_bank_role_cannot_be_given_to_a_person(
    gateway: httpx.AsyncClient, make_user: UserFactory, login: Login,
) -> None:
    admin = bearer(await login(gateway, await make_user(Role.ADMIN)))
    person = await make_user()
    create = await gateway.post("/api/v1/auth/users", headers=admin, json={
        "username": f"bank-{secrets.token_hex(3)}", "password": "correct horse battery", "roles": ["partner_bank"]})
    update = await gateway.patch(f"/api/v1/auth/users/{person.id}", json={"roles": ["partner_bank"]}, headers=admin)
    assert [e["field"] for e in assert_problem(create, 422, "validation_failed")["errors"]] == ["roles.0"]
    assert [e["field"] for e in assert_problem(update, 422, "validation_failed")["errors"]] == ["roles.0"]
