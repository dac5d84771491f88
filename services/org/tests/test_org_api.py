"""The org service through its API, on a real database: structure, history, rules, rollups."""

from __future__ import annotations

import json
import secrets

import httpx

from svckit.scope import DataScope
from svckit.testing.asgi import internal_headers
from svckit.testing.org import Company, company, hire
from svckit.testing.responses import ok, problem

__all__ = ["Company", "company", "hire", "ok", "problem"]


async def chain(org: httpx.AsyncClient, agent: int, on: str) -> list[int]:
    return [link["agent_id"] for link in ok(await org.get(f"/v1/agents/{agent}/chain", params={"on": on}))]


async def below(org: httpx.AsyncClient, agent: int, on: str) -> dict[str, int]:
    return dict(ok(await org.get(f"/v1/agents/{agent}/subtree", params={"on": on}))["headcount_by_rank"])


async def test_institution_tree_and_tiers(org: httpx.AsyncClient) -> None:
    c = await company(org)
    tree = ok(await org.get(f"/v1/institutions/{c.hq}/tree"))
    assert [i["kind"] for i in tree] == ["hq", "branch", "service_office"]
    assert tree[-1]["path"] == [c.hq, c.branch, c.office]
    wrong_tier = await org.post("/v1/institutions", json={"parent_id": c.hq, "kind": "branch", "tier": 3, "code": "X",
                                                          "name": "x", "opened_on": "2020-01-01"})
    assert problem(wrong_tier, 422, "wrong_tier")["field"] == "tier"
    wrong_parent = await org.post("/v1/institutions", json={
        "parent_id": c.office, "kind": "branch", "tier": 2, "code": "Y", "name": "y", "opened_on": "2020-01-01"})
    problem(wrong_parent, 409, "wrong_parent")


async def test_teams_are_named_from_the_institution_path_and_keep_their_history(org: httpx.AsyncClient) -> None:
    c = await company(org)
    first = ok(await org.get(f"/v1/teams/{c.department}"))
    assert first["name"] == f"{c.branch_name}汉沽营销服务部业务一部"
    second = ok(await org.post("/v1/teams", json={"institution_id": c.office, "valid_from": "2021-01-01"}), 201)
    assert second["name"] == f"{c.branch_name}汉沽营销服务部业务二部"
    group = ok(await org.post("/v1/teams", json={"institution_id": c.office, "parent_team_id": c.department,
                                                 "valid_from": "2021-01-01"}), 201)
    assert group["name"] == f"{c.branch_name}汉沽营销服务部业务一部一组"
    taken = await org.post(f"/v1/teams/{second['id']}/rename", json={"name": first["name"],
                                                                     "effective_on": "2022-01-01"})
    problem(taken, 409, "team_name_taken")
    renamed = ok(await org.post(f"/v1/teams/{second['id']}/rename", json={"name": f"{c.branch_name}精英部",
                                                                          "effective_on": "2022-01-01"}))
    assert renamed["name"] == f"{c.branch_name}精英部"
    early = await org.post(f"/v1/teams/{second['id']}/rename", json={"name": "x", "effective_on": "2021-06-01"})
    problem(early, 409, "effective_date_before_history")


async def test_chain_and_subtree_as_of_any_date_after_a_move(org: httpx.AsyncClient) -> None:
    c = await company(org)
    director = await hire(org, c, "director", on="2023-01-01")
    manager = await hire(org, c, "department_manager", director, on="2023-01-01")
    other_manager = await hire(org, c, "department_manager", director, on="2023-01-01")
    supervisor = await hire(org, c, "supervisor", manager)
    a1 = await hire(org, c, "agent", supervisor)
    await hire(org, c, "agent", supervisor)

    assert await chain(org, a1, "2024-06-01") == [supervisor, manager, director]
    assert await below(org, director, "2024-06-01") == {"department_manager": 2, "supervisor": 1, "agent": 2}
    assert await below(org, manager, "2024-06-01") == {"supervisor": 1, "agent": 2}
    assert await below(org, manager, "2023-06-01") == {}

    moved = ok(await org.post(f"/v1/agents/{supervisor}/moves", json={
        "effective_on": "2025-01-01", "supervisor_id": other_manager, "reason": "team rebalanced"}))
    assert moved["path"] == [director, other_manager]

    assert await chain(org, a1, "2024-12-31") == [supervisor, manager, director]  # the past is kept
    assert await chain(org, a1, "2025-01-01") == [supervisor, other_manager, director]
    assert await below(org, manager, "2025-01-01") == {}
    assert await below(org, other_manager, "2025-01-01") == {"supervisor": 1, "agent": 2}
    assert await below(org, manager, "2024-12-31") == {"supervisor": 1, "agent": 2}
    assert await below(org, director, "2025-01-01") == {"department_manager": 2, "supervisor": 1, "agent": 2}


async def test_rank_changes_follow_the_rules_and_update_rollups(org: httpx.AsyncClient) -> None:
    c = await company(org)
    manager = await hire(org, c, "department_manager", on="2023-01-01")
    supervisor = await hire(org, c, "supervisor", manager)
    agent = await hire(org, c, "agent", supervisor)

    promoted = ok(await org.post(f"/v1/agents/{agent}/rank-changes", json={
        "effective_on": "2025-01-01", "rank_code": "supervisor", "kind": "promotion", "reason": "2024 H2 assessment"}))
    assert promoted["rank_code"] == "supervisor"
    assert await below(org, manager, "2025-01-01") == {"supervisor": 2}
    assert await below(org, manager, "2024-12-31") == {"supervisor": 1, "agent": 1}

    above_boss = await org.post(f"/v1/agents/{agent}/rank-changes", json={
        "effective_on": "2025-07-01", "rank_code": "assistant_manager", "kind": "promotion", "reason": "x"})
    problem(above_boss, 409, "supervisor_rank_too_low")
    below_reports = await org.post(f"/v1/agents/{supervisor}/rank-changes", json={
        "effective_on": "2025-07-01", "rank_code": "agent", "kind": "demotion", "reason": "x"})
    problem(below_reports, 409, "supervisor_rank_too_low")
    unknown = await org.post(f"/v1/agents/{agent}/rank-changes", json={
        "effective_on": "2025-07-01", "rank_code": "emperor", "kind": "promotion", "reason": "x"})
    problem(unknown, 422, "unknown_rank")


async def test_bad_moves_are_refused_by_name_and_write_nothing(org: httpx.AsyncClient) -> None:
    c = await company(org)
    manager = await hire(org, c, "department_manager", on="2023-01-01")
    supervisor = await hire(org, c, "supervisor", manager)
    agent = await hire(org, c, "agent", supervisor)
    before = (ok(await org.get(f"/v1/agents/{manager}")), await below(org, manager, "2025-06-01"))

    cycle = await org.post(f"/v1/agents/{manager}/moves", json={
        "effective_on": "2025-01-01", "supervisor_id": agent, "reason": "x"})
    assert problem(cycle, 409, "supervision_cycle")["field"] == "supervisor_id"
    past = await org.post(f"/v1/agents/{agent}/moves", json={
        "effective_on": "2023-06-01", "supervisor_id": manager, "reason": "x"})
    problem(past, 409, "effective_date_before_history")
    lower = await org.post(f"/v1/agents/{manager}/moves", json={
        "effective_on": "2025-01-01", "supervisor_id": supervisor, "reason": "x"})
    problem(lower, 409, "supervision_cycle")
    gone = ok(await org.post("/v1/teams", json={"institution_id": c.office, "valid_from": "2021-01-01"}), 201)
    ok(await org.post(f"/v1/teams/{gone['id']}/dissolve", json={"effective_on": "2022-01-01"}))
    dissolved = await org.post(f"/v1/agents/{agent}/moves", json={
        "effective_on": "2025-01-01", "team_id": gone["id"], "reason": "x"})
    problem(dissolved, 409, "team_dissolved")
    nobody = await org.post(f"/v1/agents/{agent}/moves", json={
        "effective_on": "2025-01-01", "supervisor_id": 987654321, "reason": "x"})
    problem(nobody, 422, "supervisor_not_found")
    nothing = await org.post(f"/v1/agents/{agent}/moves", json={"effective_on": "2025-01-01", "reason": "x"})
    problem(nothing, 422, "validation_failed")
    missing = await org.get("/v1/agents/987654321")
    problem(missing, 404, "agent_not_found")

    assert (ok(await org.get(f"/v1/agents/{manager}")), await below(org, manager, "2025-06-01")) == before


async def test_leaving_ends_the_position_and_is_announced(org: httpx.AsyncClient, internal_secret: str) -> None:
    c = await company(org)
    supervisor = await hire(org, c, "supervisor", on="2023-01-01")
    agent = await hire(org, c, "agent", supervisor, recruiter_id=supervisor)
    busy = await org.post(f"/v1/agents/{supervisor}/leave", json={"effective_on": "2025-01-01", "reason": "x"})
    assert problem(busy, 409, "has_subordinates")["subordinates"] == [agent]

    left = ok(await org.post(f"/v1/agents/{agent}/leave", json={"effective_on": "2025-03-01", "reason": "resigned"}))
    assert (left["status"], left["left_on"], left["position"]) == ("left", "2025-03-01", None)
    assert await below(org, supervisor, "2025-03-01") == {}
    assert await below(org, supervisor, "2025-02-28") == {"agent": 1}
    again = await org.post(f"/v1/agents/{agent}/moves", json={"effective_on": "2025-04-01", "team_id": c.department,
                                                              "reason": "x"})
    problem(again, 409, "agent_left")

    feed = internal_headers(internal_secret, "org", caller_service="activity")
    events, cursor = [], None
    while True:
        page = ok(await org.get("/internal/feed", params={"after": cursor, "limit": 500}, headers=feed))
        events += page["events"]
        if not page["events"]:
            break
        cursor = page["next_cursor"]
    mine = [e for e in events if (e["aggregate_type"], e["aggregate_id"]) == ("agent", str(agent))]
    assert [e["type"] for e in mine] == ["agent.joined", "agent.left"], mine
    assert mine[-1]["payload"]["effective_on"] == "2025-03-01"
    # Who recruited the joiner travels with the event (a recruiting bonus is reckoned from it).
    assert (mine[0]["payload"]["recruiter_id"], mine[0]["payload"]["nurturer_id"]) == (supervisor, None)


async def test_bloodline_generations_and_permanence(org: httpx.AsyncClient) -> None:
    c = await company(org)
    founder = await hire(org, c, "director", on="2023-01-01")
    first = await hire(org, c, "supervisor", founder, recruiter_id=founder, nurturer_id=founder)
    second = await hire(org, c, "agent", first, recruiter_id=first)
    third = await hire(org, c, "agent", first, recruiter_id=second)
    line = ok(await org.get(f"/v1/agents/{founder}/bloodline", params={"kind": "recruiter"}))
    assert [(m["agent_id"], m["generation"]) for m in line] == [(first, 1), (second, 2), (third, 3)]
    nurtured = ok(await org.get(f"/v1/agents/{founder}/bloodline", params={"kind": "nurturer"}))
    assert [m["agent_id"] for m in nurtured] == [first]


async def test_snapshot_streams_every_position_on_the_date(org: httpx.AsyncClient) -> None:
    c = await company(org)
    top = await hire(org, c, "director", on="2023-01-01")
    people = [top] + [await hire(org, c, "agent", top) for _ in range(4)]
    response = await org.get("/v1/snapshot", params={"on": "2024-06-01", "institution_id": c.branch})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert sorted(r["agent_id"] for r in rows) == sorted(people)
    assert all(r["path"] == [top] for r in rows if r["agent_id"] != top)
    earlier = await org.get("/v1/snapshot", params={"on": "2023-06-01", "institution_id": c.branch})
    assert [json.loads(line)["agent_id"] for line in earlier.text.splitlines()] == [top]


async def test_writes_need_a_managing_role_and_teams_need_the_workflow(
    org: httpx.AsyncClient, internal_secret: str
) -> None:
    c = await company(org)
    scope = DataScope(institutions=frozenset({c.hq}))
    as_agent = internal_headers(internal_secret, "org", roles=frozenset({"agent"}), scope=scope)
    problem(await org.post("/v1/agents/1/leave", json={"effective_on": "2025-01-01", "reason": "x"},
                           headers=as_agent), 403, "role_required")
    manager = internal_headers(internal_secret, "org", roles=frozenset({"marketing_management"}), scope=scope)
    problem(await org.post("/v1/teams", json={"institution_id": c.office, "valid_from": "2021-01-01"},
                           headers=manager), 403, "role_required")
    problem(await org.post(f"/v1/teams/{c.department}/dissolve", json={"effective_on": "2025-01-01"},
                           headers=manager), 403, "role_required")


async def test_duplicate_codes_are_named_conflicts_and_the_request_writes_nothing(org: httpx.AsyncClient) -> None:
    c = await company(org)
    tree = ok(await org.get(f"/v1/institutions/{c.hq}/tree"))
    again = await org.post("/v1/institutions", json={"parent_id": c.hq, "kind": "branch", "tier": 2,
                                                     "code": tree[1]["code"], "name": "又一个分公司",
                                                     "opened_on": "2020-01-01"})
    assert problem(again, 409, "institution_exists")["field"] == "code"
    assert len(ok(await org.get(f"/v1/institutions/{c.hq}/tree"))) == len(tree)
    first = await hire(org, c, "agent")
    code = ok(await org.get(f"/v1/agents/{first}"))["code"]
    twin = await org.post("/v1/agents", json={"code": code, "name": "重名", "licence_no": f"L-{secrets.token_hex(4)}",
                                              "hire_date": "2024-01-01", "institution_id": c.office})
    problem(twin, 409, "agent_exists")
