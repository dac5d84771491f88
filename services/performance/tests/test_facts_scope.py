"""Facts under data scope: an import names only agents of the caller's scope (all or none), and the
ledger events held in quarantine are seen and admitted by a branch only for its own agents."""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from svckit.scope import DataScope
from svckit.testing.responses import ok, problem

from .conftest import Company, Stack, hire
from .test_lifecycle import count
from .test_settlement_flow import department, sell, this_month


def finance(stack: Stack, c: Company) -> dict[str, str]:
    """Finance of the company's branch (not the head office)."""
    return stack.as_user(DataScope(institutions=frozenset({c.branch})), "finance")


def head_office(stack: Stack, *companies: Company) -> dict[str, str]:
    """Finance of the head office (each test company has its own root: one company in fact)."""
    return stack.as_user(DataScope(institutions=frozenset(c.hq for c in companies), company_wide=True), "finance")


def line(agent: int, amount: str = "2000.00") -> dict[str, Any]:
    _, today = this_month()
    return {"agent_id": agent, "kind": "received_premium", "occurred_on": today.isoformat(), "product_code": "GRP",
            "policy_year": 1, "amount": amount}


async def facts_of(stack: Stack, *agents: int) -> int:
    return await count(stack, "SELECT count(*) FROM performance.fact WHERE agent_id = ANY(:a)", a=list(agents))


async def test_a_branch_imports_facts_for_its_own_agents_only(stack: Stack) -> None:
    x, px = await department(stack)
    y, py = await department(stack)
    fin_x = finance(stack, x)
    body = {"source": "保险公司月度清单", "facts": [line(px["a"]), line(px["b"]), line(py["a"], "99999.00")]}

    refused = problem(await stack.performance.post("/v1/facts", json=body, headers=fin_x), 422, "agent_not_found")
    assert refused["field"] == "facts[2].agent_id"
    assert await facts_of(stack, px["a"], px["b"], py["a"]) == 0  # all or none: not even X's own lines
    # Told exactly as for an agent who does not exist: the other branch's agent is not revealed.
    unknown = problem(await stack.performance.post("/v1/facts", headers=fin_x, json={
        **body, "facts": [line(px["a"]), line(px["b"]), line(999_999_999)]}), 422, "agent_not_found")
    assert refused["detail"].replace(str(py["a"]), "?") == unknown["detail"].replace("999999999", "?")
    assert "data scope" in refused["detail"]
    # Back office of branch Y may import too, and is refused X's agents the same way.
    bo_y = stack.as_user(DataScope(institutions=frozenset({y.office})), "back_office")
    problem(await stack.performance.post("/v1/facts", headers=bo_y, json={**body, "facts": [line(px["c"])]}),
            422, "agent_not_found")
    assert await facts_of(stack, px["c"]) == 0

    recorded = ok(await stack.performance.post("/v1/facts", headers=fin_x, json={**body, "facts": body["facts"][:2]}),
                  201)
    assert recorded == {"recorded": 2}
    period, _ = this_month()
    mine = ok(await stack.performance.get(f"/v1/facts/agents/{px['a']}", params={"period": period}, headers=fin_x))
    assert Decimal(mine[0]["received_premium"]) == Decimal("2000.00")
    assert await facts_of(stack, py["a"]) == 0
    # The head office imports for any branch.
    ok(await stack.performance.post("/v1/facts", headers=head_office(stack, x, y), json={**body, "facts": [
        line(py["a"], "10.00")]}), 201)
    assert await facts_of(stack, py["a"]) == 1


async def held(stack: Stack, headers: dict[str, str], agents: set[int]) -> list[dict[str, Any]]:
    return [q for q in ok(await stack.performance.get("/v1/facts/quarantine", headers=headers))["items"]
            if q["agent_id"] in agents]


async def test_a_branch_sees_and_admits_only_its_own_held_events(stack: Stack) -> None:
    x, px = await department(stack)
    y, py = await department(stack)
    fin_x, fin_y, hq = finance(stack, x), finance(stack, y), head_office(stack, x, y)
    # A newcomer of each branch the ledger knows before performance's copy of the organisation does.
    new_x, new_y = await hire(stack.org, x, "agent", px["s"]), await hire(stack.org, y, "agent", py["s"])
    await stack.feeds["ledger_org"].drain()
    await sell(stack, x, new_x, "800.00")
    await sell(stack, y, new_y, "500.00")
    await stack.feeds["facts"].drain()
    both = {new_x, new_y}
    assert {q["agent_id"] for q in await held(stack, hq, both)} == both

    # An agent org has not announced belongs to no branch yet: only the head office sees or admits it.
    assert await held(stack, fin_x, both) == []
    assert ok(await stack.performance.post("/v1/facts/quarantine/admit", headers=fin_x))["admitted"] == 0
    assert len(await held(stack, hq, both)) == 4

    await stack.feeds["org"].drain()
    seen_x, seen_y = await held(stack, fin_x, both), await held(stack, fin_y, both)
    assert {q["agent_id"] for q in seen_x} == {new_x}
    assert {q["agent_id"] for q in seen_y} == {new_y}
    assert {q["event_type"] for q in seen_x} == {"policy.issued", "premium.received"}

    # Branch X's finance admits its newcomer's events and nothing of branch Y's.
    assert ok(await stack.performance.post("/v1/facts/quarantine/admit", headers=fin_x)) == {"admitted": 2, "held": 0}
    assert (await facts_of(stack, new_x), await facts_of(stack, new_y)) == (4, 0)
    assert {q["agent_id"] for q in await held(stack, hq, both)} == {new_y}
    assert await held(stack, fin_x, both) == []
    listed = ok(await stack.performance.get("/v1/facts/quarantine", params={"held_only": False},
                                            headers=fin_x))["items"]
    assert {q["agent_id"] for q in listed if q["agent_id"] in both} == {new_x}  # admitted, still X's alone

    admitted = ok(await stack.performance.post("/v1/facts/quarantine/admit", headers=hq))
    assert admitted["admitted"] >= 2
    assert await facts_of(stack, new_y) == 4


async def test_an_event_naming_agents_of_two_branches_is_the_head_offices(stack: Stack) -> None:
    x, px = await department(stack)
    y, py = await department(stack)
    event_id = 9_000_000_000 + secrets.randbelow(10**9)
    payload = {"kind": "manual", "branch_id": x.branch, "entry_id": 1,
               "postings": [{"account": "bank", "agent_id": px["a"]}, {"account": "bank", "agent_id": py["a"]}]}
    async with stack.engine.begin() as connection:
        await connection.execute(text(
            "INSERT INTO performance.fact_quarantine (event_id, event_type, agent_id, payload, occurred_at, reason)"
            " VALUES (:e, 'entry.reversed', :a, CAST(:p AS jsonb), now(), 'held for the test')"),
            {"e": event_id, "a": px["a"], "p": json.dumps(payload)})
    for branch in (x, y):
        seen = ok(await stack.performance.get("/v1/facts/quarantine", headers=finance(stack, branch)))["items"]
        assert [q for q in seen if q["event_id"] == event_id] == []
        ok(await stack.performance.post("/v1/facts/quarantine/admit", headers=finance(stack, branch)))
    assert [q["event_id"] for q in ok(await stack.performance.get(
        "/v1/facts/quarantine", headers=head_office(stack, x, y)))["items"] if q["event_id"] == event_id] == [event_id]
    ok(await stack.performance.post("/v1/facts/quarantine/admit", headers=head_office(stack, x, y)))
    assert await count(stack, "SELECT count(*) FROM performance.fact_quarantine WHERE event_id = :e"
                       " AND admitted_at IS NULL", e=event_id) == 0
