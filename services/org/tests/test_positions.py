"""Writes keep paths and rollups exact in every case their set-based statements distinguish: rollup
versions after the date (shifted), spanning it (split), or missing on it (created up to the next
one); paths below a moved agent rewritten in place (same day) or by a new version; leaves moved
without a path below them."""

from __future__ import annotations

import httpx

from .test_org_api import below, chain, company, hire, ok, problem


async def _move(org: httpx.AsyncClient, agent: int, on: str, **changes: object) -> dict[str, object]:
    body = {"effective_on": on, "reason": "test", **changes}
    return dict(ok(await org.post(f"/v1/agents/{agent}/moves", json=body)))


async def _promote(org: httpx.AsyncClient, agent: int, on: str, rank: str) -> dict[str, object]:
    body = {"effective_on": on, "rank_code": rank, "kind": "promotion", "reason": "test"}
    return dict(ok(await org.post(f"/v1/agents/{agent}/rank-changes", json=body)))


async def test_a_backdated_arrival_shifts_later_rollups_splits_spanning_ones_and_fills_gaps(
    org: httpx.AsyncClient,
) -> None:
    c = await company(org)
    manager = await hire(org, c, "department_manager", on="2023-01-01")
    s1 = await hire(org, c, "supervisor", manager)
    s2 = await hire(org, c, "supervisor", manager)
    a1, a2 = await hire(org, c, "agent", s1), await hire(org, c, "agent", s1)
    newcomer = await hire(org, c, "probationary_supervisor", s2)
    await _promote(org, a1, "2025-01-01", "probationary_supervisor")  # s1's rollups get versions from 2025

    moved = await _move(org, newcomer, "2024-06-01", supervisor_id=s1)  # before them, after the newcomer's start
    assert (moved["path"], moved["valid_from"]) == ([manager, s1], "2024-06-01")
    assert await below(org, s1, "2024-05-31") == {"agent": 2}
    assert await below(org, s1, "2024-06-01") == {"agent": 2, "probationary_supervisor": 1}  # a gap filled
    assert await below(org, s1, "2024-12-31") == {"agent": 2, "probationary_supervisor": 1}  # ... up to 2025
    assert await below(org, s1, "2025-01-01") == {"agent": 1, "probationary_supervisor": 2}  # later, shifted
    assert await below(org, s2, "2024-05-31") == {"probationary_supervisor": 1}
    assert await below(org, s2, "2024-06-01") == {}
    for on in ("2024-05-31", "2024-06-01", "2025-01-01"):
        assert await below(org, manager, on) == {"supervisor": 2, "agent": 2 - (on >= "2025"),
                                                 "probationary_supervisor": 1 + (on >= "2025")}
    assert await chain(org, a2, "2025-06-01") == [s1, manager]


async def test_the_people_below_follow_a_move_on_the_same_day_as_their_own_change(org: httpx.AsyncClient) -> None:
    c = await company(org)
    director = await hire(org, c, "director", on="2023-01-01")
    m1 = await hire(org, c, "department_manager", director, on="2023-01-01")
    m2 = await hire(org, c, "department_manager", director, on="2023-01-01")
    sup = await hire(org, c, "supervisor", m1)
    same_day, earlier = await hire(org, c, "agent", sup), await hire(org, c, "agent", sup)
    await _promote(org, same_day, "2025-03-01", "probationary_supervisor")  # its open version starts that day

    await _move(org, sup, "2025-03-01", supervisor_id=m2)
    for agent in (same_day, earlier):
        assert await chain(org, agent, "2025-02-28") == [sup, m1, director]
        assert await chain(org, agent, "2025-03-01") == [sup, m2, director]
    assert await below(org, m1, "2025-03-01") == {}
    assert await below(org, m2, "2025-03-01") == {"supervisor": 1, "agent": 1, "probationary_supervisor": 1}
    assert await below(org, m1, "2025-02-28") == {"supervisor": 1, "agent": 2}
    assert await below(org, director, "2025-03-01") == {
        "department_manager": 2, "supervisor": 1, "agent": 1, "probationary_supervisor": 1}
    # The promoted agent still has two versions: the move rewrote the one of that day in place.
    history = ok(await org.get(f"/v1/agents/{same_day}", params={"on": "2025-03-01"}))["position"]
    assert (history["valid_from"], history["rank_code"], history["path"]) == (
        "2025-03-01", "probationary_supervisor", [director, m2, sup])


async def test_a_move_is_refused_when_someone_below_has_a_later_change(org: httpx.AsyncClient) -> None:
    c = await company(org)
    m1 = await hire(org, c, "department_manager", on="2023-01-01")
    m2 = await hire(org, c, "department_manager", on="2023-01-01")
    sup = await hire(org, c, "supervisor", m1)
    agent = await hire(org, c, "agent", sup)
    await _promote(org, agent, "2025-06-01", "probationary_supervisor")

    refused = problem(await org.post(f"/v1/agents/{sup}/moves", json={
        "effective_on": "2025-03-01", "supervisor_id": m2, "reason": "test"}), 409, "effective_date_before_history")
    assert refused["latest_recorded"] == "2025-06-01"
    assert await chain(org, agent, "2025-06-01") == [sup, m1]
    # A team change alone does not touch the chain, so what is below does not matter.
    team = ok(await org.post("/v1/teams", json={"institution_id": c.office, "valid_from": "2020-01-01"}), 201)["id"]
    assert (await _move(org, sup, "2025-03-01", team_id=team))["team_id"] == team
    assert (await _move(org, sup, "2025-06-01", supervisor_id=m2))["path"] == [m2]
    assert await below(org, m2, "2025-06-01") == {"supervisor": 1, "probationary_supervisor": 1}


async def test_a_leaf_moves_and_a_promotion_answers_with_the_version_now_open(org: httpx.AsyncClient) -> None:
    c = await company(org)
    m1 = await hire(org, c, "department_manager", on="2023-01-01")
    m2 = await hire(org, c, "department_manager", on="2023-01-01")
    sup = await hire(org, c, "supervisor", m1)
    leaf = await hire(org, c, "agent", sup)
    moved = await _move(org, leaf, "2025-01-01", supervisor_id=m2)
    assert (moved["agent_id"], moved["supervisor_id"], moved["path"], moved["valid_to"]) == (leaf, m2, [m2], None)
    assert await below(org, m1, "2025-01-01") == {"supervisor": 1}
    assert await below(org, sup, "2025-01-01") == {}
    assert await below(org, m2, "2025-01-01") == {"agent": 1}
    promoted = await _promote(org, leaf, "2025-02-01", "probationary_supervisor")
    assert (promoted["rank_code"], promoted["valid_from"], promoted["path"]) == (
        "probationary_supervisor", "2025-02-01", [m2])
    assert await below(org, m2, "2025-02-01") == {"probationary_supervisor": 1}
    assert await below(org, m2, "2025-01-31") == {"agent": 1}


async def test_a_promotion_to_the_nurturers_rank_answers_with_the_separated_position(org: httpx.AsyncClient) -> None:
    c = await company(org)
    director = await hire(org, c, "director", on="2023-01-01")
    manager = await hire(org, c, "department_manager", director, on="2023-01-01")
    nurtured = await hire(org, c, "supervisor", manager, on="2023-01-01", nurturer_id=manager)
    promoted = await _promote(org, nurtured, "2024-01-01", "department_manager")
    assert (promoted["rank_code"], promoted["supervisor_id"], promoted["path"]) == (
        "department_manager", director, [director])
