"""Data scope inside the org service: each object read is checked against the caller's scope."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx

from svckit.scope import DataScope
from svckit.testing.asgi import internal_headers

from .test_org_api import Company, company, hire, ok, problem


@dataclass
class People:
    c: Company
    manager: int
    sup_a: int
    sup_b: int
    a1: int
    a2: int
    b1: int
    sup_a_user: str
    a1_user: str


async def people(org: httpx.AsyncClient) -> People:
    c = await company(org)
    sup_a_user, a1_user = f"u-{secrets.token_hex(4)}", f"u-{secrets.token_hex(4)}"
    manager = await hire(org, c, "department_manager", on="2023-01-01")
    sup_a = await hire(org, c, "supervisor", manager, user_id=sup_a_user)
    sup_b = await hire(org, c, "supervisor", manager)
    a1 = await hire(org, c, "agent", sup_a, user_id=a1_user, recruiter_id=sup_a)
    a2 = await hire(org, c, "agent", sup_a, recruiter_id=sup_a)
    b1 = await hire(org, c, "agent", sup_b, recruiter_id=sup_a)
    return People(c, manager, sup_a, sup_b, a1, a2, b1, sup_a_user, a1_user)


def as_user(secret: str, scope: DataScope, *roles: str) -> dict[str, str]:
    return internal_headers(secret, "org", roles=frozenset(roles), scope=scope)


async def test_an_agent_reads_themself_and_no_other_agent(org: httpx.AsyncClient, internal_secret: str) -> None:
    p = await people(org)
    me = as_user(internal_secret, DataScope(agent_id=p.a1), "agent")
    assert ok(await org.get(f"/v1/agents/{p.a1}", headers=me))["id"] == p.a1
    for other in (p.a2, p.sup_a, p.b1):
        problem(await org.get(f"/v1/agents/{other}", headers=me), 404, "agent_not_found")
        problem(await org.get(f"/v1/agents/{other}/chain", headers=me), 404, "agent_not_found")
    problem(await org.get(f"/v1/institutions/{p.c.office}", headers=me), 404, "institution_not_found")
    problem(await org.get("/v1/snapshot", headers=me), 403, "scope_too_narrow")


async def test_a_supervisor_reads_their_subtree_only(org: httpx.AsyncClient, internal_secret: str) -> None:
    p = await people(org)
    sup = as_user(internal_secret, DataScope(agent_id=p.sup_a, subtree=True), "supervisor")
    for visible in (p.sup_a, p.a1, p.a2):
        assert ok(await org.get(f"/v1/agents/{visible}", headers=sup))["id"] == visible
    for outside in (p.manager, p.sup_b, p.b1):
        problem(await org.get(f"/v1/agents/{outside}", headers=sup), 404, "agent_not_found")
        problem(await org.get(f"/v1/agents/{outside}/subtree", headers=sup), 404, "agent_not_found")
    recruits = ok(await org.get(f"/v1/agents/{p.sup_a}/bloodline", params={"kind": "recruiter"}, headers=sup))
    assert sorted(m["agent_id"] for m in recruits) == sorted([p.a1, p.a2])  # b1 is recruited but in another team


async def test_staff_read_their_institutions_only(org: httpx.AsyncClient, internal_secret: str) -> None:
    p = await people(org)
    other = await company(org)
    stranger = await hire(org, other, "agent", on="2024-01-01")
    staff = as_user(internal_secret, DataScope(institutions=frozenset({p.c.branch})), "back_office")
    assert ok(await org.get(f"/v1/agents/{p.b1}", headers=staff))["id"] == p.b1
    assert ok(await org.get(f"/v1/institutions/{p.c.office}", headers=staff))["id"] == p.c.office
    problem(await org.get(f"/v1/agents/{stranger}", headers=staff), 404, "agent_not_found")
    problem(await org.get(f"/v1/institutions/{other.office}", headers=staff), 404, "institution_not_found")
    problem(await org.get(f"/v1/teams/{other.department}", headers=staff), 404, "team_not_found")
    snapshot = await org.get("/v1/snapshot", params={"institution_id": p.c.branch, "on": "2024-06-01"},
                             headers=staff)
    assert snapshot.status_code == 200
    problem(await org.get("/v1/snapshot", params={"institution_id": other.branch}, headers=staff), 404,
            "institution_not_found")
    # Writes stay inside the scope: moving one's own agent under a stranger is an unknown supervisor.
    outside = await org.post(f"/v1/agents/{p.b1}/moves", json={"effective_on": "2025-01-01",
                                                               "supervisor_id": stranger, "reason": "x"},
                             headers=staff)
    problem(outside, 422, "supervisor_not_found")
    problem(await org.post(f"/v1/agents/{stranger}/leave", json={"effective_on": "2025-01-01", "reason": "x"},
                           headers=staff), 404, "agent_not_found")


async def test_no_scope_sees_nothing(org: httpx.AsyncClient, internal_secret: str) -> None:
    p = await people(org)
    nobody = as_user(internal_secret, DataScope(), "agent")
    problem(await org.get(f"/v1/agents/{p.a1}", headers=nobody), 404, "agent_not_found")


async def test_the_scope_of_a_user_comes_from_their_agent_and_roles(
    org: httpx.AsyncClient, internal_secret: str
) -> None:
    p = await people(org)

    def scope_of(user: str, *roles: str) -> dict[str, object]:
        return {"headers": internal_headers(internal_secret, "org", user_id=user, roles=frozenset(roles))}

    assert ok(await org.get("/v1/scope", **scope_of(p.sup_a_user, "supervisor"))) == {
        "everything": False, "agent_id": p.sup_a, "subtree": True, "institutions": [], "company_wide": False}
    assert ok(await org.get("/v1/scope", **scope_of(p.a1_user, "agent"))) == {
        "everything": False, "agent_id": p.a1, "subtree": False, "institutions": [], "company_wide": False}
    # Holding the supervisor role without a linked agent grants nothing; a leaver loses their scope.
    assert ok(await org.get("/v1/scope", **scope_of("unlinked", "supervisor")))["agent_id"] is None
    ok(await org.post(f"/v1/agents/{p.a1}/leave", json={"effective_on": "2025-01-01", "reason": "resigned"}))
    assert ok(await org.get("/v1/scope", **scope_of(p.a1_user, "agent")))["agent_id"] is None
    scope = ok(await org.get("/v1/scope", headers=internal_headers(
        internal_secret, "org", user_id="no-such-user", roles=frozenset({"back_office"}),
        institutions=frozenset({p.c.branch}))))
    assert scope == {"everything": False, "agent_id": None, "subtree": False, "institutions": [p.c.branch],
                     "company_wide": False}
    admin = ok(await org.get("/v1/scope", headers=internal_headers(internal_secret, "org",
                                                                   roles=frozenset({"admin"}))))
    assert admin["everything"] is True
    assert admin["company_wide"] is True


async def test_staff_of_the_head_office_are_company_wide_and_branch_staff_are_not(
    org: httpx.AsyncClient, internal_secret: str
) -> None:
    c = await company(org)

    async def scope_of(*institutions: int, role: str = "finance") -> dict[str, object]:
        return ok(await org.get("/v1/scope", headers=internal_headers(
            internal_secret, "org", user_id=f"u-{secrets.token_hex(4)}", roles=frozenset({role}),
            institutions=frozenset(institutions))))

    head_office = await scope_of(c.hq)
    assert head_office["company_wide"] is True
    assert head_office["everything"] is False
    assert (await scope_of(c.branch, c.hq, role="marketing_management"))["company_wide"] is True
    for below in ((c.branch,), (c.office,), (c.branch, c.office), ()):
        assert (await scope_of(*below))["company_wide"] is False, below
    # The head office in an account that holds no staff role grants nothing.
    assert (await scope_of(c.hq, role="agent"))["company_wide"] is False


async def test_where_an_agent_is_put_must_be_visible_checked_in_order(org: httpx.AsyncClient,
                                                                       internal_secret: str) -> None:
    p = await people(org)
    other = await company(org)
    stranger = await hire(org, other, "supervisor", on="2024-01-01")
    staff = as_user(internal_secret, DataScope(institutions=frozenset({p.c.branch})), "back_office")

    async def move(agent: int, headers: dict[str, str] | None = None, **body: object) -> httpx.Response:
        return await org.post(f"/v1/agents/{agent}/moves", headers=headers,
                              json={"effective_on": "2025-01-01", "reason": "x", **body})

    hidden = {"institution_id": other.office, "team_id": other.department, "supervisor_id": stranger}
    for name in ("institution", "team", "supervisor"):
        refused = problem(await move(p.b1, staff, **hidden), 422, f"{name}_not_found")
        assert (refused["field"], refused["detail"]) == (f"{name}_id", f"{name} {hidden[f'{name}_id']} does not exist")
        del hidden[f"{name}_id"]
    for name in ("institution", "team", "supervisor"):
        problem(await move(p.b1, staff, **{f"{name}_id": 987654321}), 422, f"{name}_not_found")
    moved = ok(await move(p.b1, staff, supervisor_id=p.sup_a, team_id=p.c.department, institution_id=p.c.office))
    assert moved["path"] == [p.manager, p.sup_a]
    # An unknown place is refused before the agent's own state is looked at, for administrators too.
    ok(await org.post(f"/v1/agents/{p.a2}/leave", json={"effective_on": "2025-01-01", "reason": "x"}))
    problem(await move(p.a2, team_id=987654321), 422, "team_not_found")
    problem(await move(p.a2, supervisor_id=987654321), 409, "agent_left")  # administrators see every agent
