"""Chain and subtree reads answer in one statement each, and stay exactly as strict: an agent outside
the caller's scope is a 404 like one that does not exist (whatever the date), and a date on which
a visible agent stands nowhere is `no_position_on_date`."""

from __future__ import annotations

import httpx

from svckit.scope import DataScope

from .test_org_api import company, hire, ok, problem
from .test_scope import as_user, people

READS = ("chain", "subtree")
NOBODY = 987654321


async def test_reads_refuse_what_the_scope_hides_before_looking_at_the_date(
    org: httpx.AsyncClient, internal_secret: str,
) -> None:
    p = await people(org)
    sup = as_user(internal_secret, DataScope(agent_id=p.sup_a, subtree=True), "supervisor")
    for read in READS:
        for visible in (p.sup_a, p.a1):
            ok(await org.get(f"/v1/agents/{visible}/{read}", params={"on": "2024-06-01"}, headers=sup))
            before_hire = await org.get(f"/v1/agents/{visible}/{read}", params={"on": "2023-06-01"}, headers=sup)
            problem(before_hire, 404, "no_position_on_date")
        for hidden in (p.manager, p.sup_b, p.b1, NOBODY):
            for on in ("2024-06-01", "2023-06-01", "2019-01-01"):
                refused = await org.get(f"/v1/agents/{hidden}/{read}", params={"on": on}, headers=sup)
                assert problem(refused, 404, "agent_not_found")["field"] == "agent_id"
        problem(await org.get(f"/v1/agents/{p.a1}/{read}", params={"on": "2024-02-30"}, headers=sup), 422,
                "validation_failed")


async def test_staff_and_agents_get_the_same_answers_and_refusals(org: httpx.AsyncClient, internal_secret: str) -> None:
    p = await people(org)
    other = await company(org)
    stranger = await hire(org, other, "supervisor", on="2024-01-01")
    staff = as_user(internal_secret, DataScope(institutions=frozenset({p.c.branch})), "back_office")
    me = as_user(internal_secret, DataScope(agent_id=p.a1), "agent")
    admin_chain = ok(await org.get(f"/v1/agents/{p.a1}/chain", params={"on": "2024-06-01"}))
    assert ok(await org.get(f"/v1/agents/{p.a1}/chain", params={"on": "2024-06-01"}, headers=staff)) == admin_chain
    assert ok(await org.get(f"/v1/agents/{p.a1}/chain", params={"on": "2024-06-01"}, headers=me)) == admin_chain
    for read in READS:
        problem(await org.get(f"/v1/agents/{stranger}/{read}", params={"on": "2024-06-01"}, headers=staff), 404,
                "agent_not_found")
        problem(await org.get(f"/v1/agents/{p.a2}/{read}", params={"on": "2024-06-01"}, headers=me), 404,
                "agent_not_found")
        # A whole-company caller sees everyone: an unknown agent simply stands nowhere on the date.
        problem(await org.get(f"/v1/agents/{NOBODY}/{read}", params={"on": "2024-06-01"}), 404,
                "no_position_on_date")
        problem(await org.get(f"/v1/agents/{p.a1}/{read}", params={"on": "2023-06-01"}), 404, "no_position_on_date")


async def test_a_leaver_stays_visible_where_they_last_stood(org: httpx.AsyncClient, internal_secret: str) -> None:
    p = await people(org)
    ok(await org.post(f"/v1/agents/{p.a2}/leave", json={"effective_on": "2025-01-01", "reason": "resigned"}))
    sup = as_user(internal_secret, DataScope(agent_id=p.sup_a, subtree=True), "supervisor")
    other = as_user(internal_secret, DataScope(agent_id=p.sup_b, subtree=True), "supervisor")
    assert [link["agent_id"] for link in ok(await org.get(
        f"/v1/agents/{p.a2}/chain", params={"on": "2024-06-01"}, headers=sup))] == [p.sup_a, p.manager]
    problem(await org.get(f"/v1/agents/{p.a2}/chain", params={"on": "2025-02-01"}, headers=sup), 404,
            "no_position_on_date")
    problem(await org.get(f"/v1/agents/{p.a2}/chain", params={"on": "2024-06-01"}, headers=other), 404,
            "agent_not_found")


async def test_chain_links_and_subtree_counts_as_of_the_date(org: httpx.AsyncClient) -> None:
    c = await company(org)
    director = await hire(org, c, "director", on="2023-01-01")
    manager = await hire(org, c, "department_manager", director, on="2023-01-01")
    supervisor = await hire(org, c, "supervisor", manager)
    agents = [await hire(org, c, "agent", supervisor) for _ in range(3)]
    ok(await org.post(f"/v1/agents/{agents[0]}/moves", json={"effective_on": "2025-01-01", "supervisor_id": manager,
                                                              "reason": "closer to the manager"}))

    links = ok(await org.get(f"/v1/agents/{agents[1]}/chain", params={"on": "2024-06-01"}))
    assert [(link["agent_id"], link["level"], link["rank_code"], link["team_id"]) for link in links] == [
        (supervisor, 1, "supervisor", c.department), (manager, 2, "department_manager", c.department),
        (director, 3, "director", c.department)]
    assert all(link["code"].startswith("A-") and link["name"] for link in links)
    assert ok(await org.get(f"/v1/agents/{director}/chain", params={"on": "2024-06-01"})) == []

    def counts(body: dict[str, object]) -> tuple[object, ...]:
        return body["headcount_by_rank"], body["headcount"], body["direct_reports"], body["on"]

    subtree = await org.get(f"/v1/agents/{manager}/subtree", params={"on": "2024-06-01"})
    assert counts(ok(subtree)) == ({"supervisor": 1, "agent": 3}, 4, 1, "2024-06-01")
    subtree = await org.get(f"/v1/agents/{manager}/subtree", params={"on": "2025-01-01"})
    assert counts(ok(subtree)) == ({"supervisor": 1, "agent": 3}, 4, 2, "2025-01-01")
    subtree = await org.get(f"/v1/agents/{supervisor}/subtree", params={"on": "2025-01-01"})
    assert counts(ok(subtree)) == ({"agent": 2}, 2, 2, "2025-01-01")
    subtree = await org.get(f"/v1/agents/{agents[2]}/subtree", params={"on": "2025-01-01"})
    assert counts(ok(subtree)) == ({}, 0, 0, "2025-01-01")
    assert ok(subtree)["agent_id"] == agents[2]
