"""Object-level authorisation through the gateway (BOLA): the gateway signs each user's scope,
asked of org, into the internal token; the service holding the data checks every object."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gateway_service import accounts
from gateway_service.roles import Role
from gateway_service.testing import Account, GatewayFactory, Login, assert_problem, bearer, closed_port
from svckit.db import Database


@dataclass
class Org:
    branch: int
    office: int
    manager: int
    sup_a: int
    sup_b: int
    a1: int
    a2: int
    b1: int


async def _account(gateway_db: Database, *roles: Role, institutions: tuple[int, ...] = ()) -> Account:
    username, password = f"user-{secrets.token_hex(5)}", secrets.token_urlsafe(16)
    async with gateway_db.sessionmaker.begin() as session:
        user = await accounts.create_user(session, username=username, password=password, roles=roles,
                                          institution_ids=institutions)
    return Account(str(user.id), user.username, password, list(user.roles))


async def _call(client: httpx.AsyncClient, admin: dict[str, str], method: str, path: str, body: dict[str, Any],
                ) -> dict[str, Any]:
    response = await client.request(method, f"/api/v1/org{path}", json=body, headers=admin)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def build_org(client: httpx.AsyncClient, admin: dict[str, str], users: dict[str, str]) -> Org:
    tag = secrets.token_hex(3)
    hq = await _call(client, admin, "POST", "/v1/institutions", {"kind": "hq", "tier": 1, "code": f"H{tag}",
                                                                  "name": "总公司", "opened_on": "2020-01-01"})
    branch = await _call(client, admin, "POST", "/v1/institutions", {
        "parent_id": hq["id"], "kind": "branch", "tier": 2, "code": f"B{tag}", "name": f"北京{tag}分公司",
        "opened_on": "2020-01-01"})
    office = await _call(client, admin, "POST", "/v1/institutions", {
        "parent_id": branch["id"], "kind": "sales_office", "tier": 3, "code": f"O{tag}", "name": "营业部",
        "opened_on": "2020-01-01"})

    async def hire(rank: str, supervisor: int | None, user: str | None = None) -> int:
        t = secrets.token_hex(4)
        agent = await _call(client, admin, "POST", "/v1/agents", {
            "code": f"A{t}", "name": f"员工{t}", "licence_no": f"L{t}", "hire_date": "2024-01-01",
            "institution_id": office["id"], "supervisor_id": supervisor, "rank_code": rank, "user_id": user})
        return int(agent["id"])

    manager = await hire("department_manager", None)
    sup_a = await hire("supervisor", manager, users.get("sup_a"))
    sup_b = await hire("supervisor", manager, users.get("sup_b"))
    a1 = await hire("agent", sup_a, users.get("a1"))
    a2 = await hire("agent", sup_a, users.get("a2"))
    b1 = await hire("agent", sup_b, users.get("b1"))
    return Org(branch["id"], office["id"], manager, sup_a, sup_b, a1, a2, b1)


@pytest.fixture
async def scoped(start_gateway: GatewayFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with start_gateway(scope_cache_seconds=0) as client:  # every request asks org afresh
        yield client


async def _setup(scoped: httpx.AsyncClient, gateway_db: Database, login: Login) -> tuple[Org, dict[str, Account]]:
    people = {"admin": await _account(gateway_db, Role.ADMIN), "sup_a": await _account(gateway_db, Role.SUPERVISOR),
              "a1": await _account(gateway_db, Role.AGENT)}
    admin = bearer(await login(scoped, people["admin"]))
    org = await build_org(scoped, admin, {name: account.id for name, account in people.items()})
    return org, people


async def test_an_agent_cannot_read_another_agent(scoped: httpx.AsyncClient, gateway_db: Database,
                                                  login: Login) -> None:
    org, people = await _setup(scoped, gateway_db, login)
    me = bearer(await login(scoped, people["a1"]))
    mine = await scoped.get(f"/api/v1/org/v1/agents/{org.a1}", headers=me)
    assert mine.status_code == 200, mine.text
    for other in (org.a2, org.b1, org.sup_a, org.manager):
        assert_problem(await scoped.get(f"/api/v1/org/v1/agents/{other}", headers=me), 404, "agent_not_found")
    assert_problem(await scoped.get(f"/api/v1/org/v1/agents/{org.b1}/chain", headers=me), 404, "agent_not_found")


async def test_a_supervisor_cannot_read_outside_their_subtree(scoped: httpx.AsyncClient, gateway_db: Database,
                                                              login: Login) -> None:
    org, people = await _setup(scoped, gateway_db, login)
    sup = bearer(await login(scoped, people["sup_a"]))
    for inside in (org.sup_a, org.a1, org.a2):
        assert (await scoped.get(f"/api/v1/org/v1/agents/{inside}", headers=sup)).status_code == 200
    for outside in (org.manager, org.sup_b, org.b1):
        assert_problem(await scoped.get(f"/api/v1/org/v1/agents/{outside}", headers=sup), 404, "agent_not_found")
    subtree = (await scoped.get(f"/api/v1/org/v1/agents/{org.sup_a}/subtree", headers=sup)).json()
    assert subtree["headcount_by_rank"] == {"agent": 2}


async def test_staff_see_their_institutions_and_a_leaver_loses_access(
    scoped: httpx.AsyncClient, gateway_db: Database, login: Login,
) -> None:
    org, people = await _setup(scoped, gateway_db, login)
    other, _ = await _setup(scoped, gateway_db, login)
    staff = bearer(await login(scoped, await _account(gateway_db, Role.BACK_OFFICE, institutions=(org.branch,))))
    assert (await scoped.get(f"/api/v1/org/v1/agents/{org.b1}", headers=staff)).status_code == 200
    assert_problem(await scoped.get(f"/api/v1/org/v1/agents/{other.b1}", headers=staff), 404, "agent_not_found")

    me = bearer(await login(scoped, people["a1"]))
    admin = bearer(await login(scoped, people["admin"]))
    left = await scoped.post(f"/api/v1/org/v1/agents/{org.a1}/leave", headers=admin,
                             json={"effective_on": "2025-01-01", "reason": "resigned"})
    assert left.status_code == 200, left.text
    assert_problem(await scoped.get(f"/api/v1/org/v1/agents/{org.a1}", headers=me), 404, "agent_not_found")


async def test_without_org_the_gateway_forwards_nothing_for_users(
    start_gateway: GatewayFactory, service_transports: dict[str, httpx.AsyncBaseTransport], gateway_db: Database,
    login: Login,
) -> None:
    transports = {k: v for k, v in service_transports.items() if k != "org"}
    async with start_gateway(transports=transports, org_url=f"http://127.0.0.1:{closed_port()}") as gateway:
        agent = bearer(await login(gateway, await _account(gateway_db, Role.AGENT)))
        response = await gateway.get("/api/v1/ledger/v1/caller", headers=agent)
        admin = bearer(await login(gateway, await _account(gateway_db, Role.ADMIN)))
        as_admin = await gateway.get("/api/v1/ledger/v1/caller", headers=admin)
    assert_problem(response, 503, "scope_unavailable")
    assert as_admin.status_code == 200  # administrators see everything without asking org
