"""Leaderboards from the facts, within the caller's data scope, ties sharing a place."""

from __future__ import annotations

from decimal import Decimal

from svckit.scope import DataScope
from svckit.testing.responses import ok, problem

from .conftest import Stack
from .test_settlement_flow import department, sell, this_month


async def test_leaderboards_by_agent_and_institution(stack: Stack) -> None:
    c, p = await department(stack)
    period, _ = this_month()
    await sell(stack, c, p["a"], "1000.00")
    await sell(stack, c, p["b"], "1000.00")
    await sell(stack, c, p["c"], "2500.00")
    await stack.sync()
    office = stack.as_user(DataScope(institutions=frozenset({c.office})), "back_office")
    board = ok(await stack.performance.get("/v1/rankings", params={"period": period}, headers=office))
    assert [(r["place"], r["key"], Decimal(r["value"])) for r in board] == [
        (1, p["c"], Decimal(2500)), (2, p["a"], Decimal(1000)), (2, p["b"], Decimal(1000))]
    supervisor = stack.as_user(DataScope(agent_id=p["s"], subtree=True), "supervisor")
    mine = ok(await stack.performance.get("/v1/rankings", params={"period": period, "metric": "new_policies"},
                                          headers=supervisor))
    assert [(r["place"], r["key"], Decimal(r["value"])) for r in mine] == [(1, p["a"], 1), (1, p["b"], 1)]
    by_office = ok(await stack.performance.get("/v1/rankings", params={"period": period, "by": "institution"},
                                               headers=office))
    assert [(r["key"], Decimal(r["value"])) for r in by_office] == [(c.office, Decimal(4500))]
    teams = ok(await stack.performance.get("/v1/rankings", params={"period": period, "by": "team"}, headers=office))
    assert [(r["key"], Decimal(r["value"])) for r in teams] == [(c.department, Decimal(4500))]


async def test_a_contest_gives_prizes_by_place_and_by_threshold(stack: Stack) -> None:
    c, p = await department(stack)
    period, _ = this_month()
    for agent, premium in (("a", "3000.00"), ("b", "1000.00"), ("c", "5000.00"), ("s", "400.00")):
        await sell(stack, c, p[agent], premium)
    await stack.sync()
    marketing = stack.as_user(DataScope(everything=True), "marketing_management")
    rules = {"qualify_at_least": "500", "by_place": [{"place_from": 1, "place_to": 1, "prize": "冠军奖", "rank": 3}],
             "by_threshold": [{"at_least": "1000", "prize": "达标奖", "rank": 1}]}
    body = {"name": "开门红", "institution_id": c.office, "period_from": period, "period_to": period,
            "metric": "received_premium", "rules": rules}
    overlapping = {**rules, "by_place": [*rules["by_place"], {"place_from": 1, "place_to": 3, "prize": "x"}]}
    bad = problem(await stack.performance.post("/v1/contests", headers=marketing,
                                               json={**body, "rules": overlapping}), 422, "invalid_contest_rules")
    assert bad["field"] == "rules.by_place[1].place_from"
    contest = ok(await stack.performance.post("/v1/contests", headers=marketing, json=body), 201)
    standings = ok(await stack.performance.get(f"/v1/contests/{contest['id']}/standings"))
    assert [(r["place"], r["agent_id"], Decimal(r["value"]), r["prize"]) for r in standings] == [
        (1, p["c"], Decimal(5000), "冠军奖"), (2, p["a"], Decimal(3000), "达标奖"),
        (3, p["b"], Decimal(1000), "达标奖")]  # the supervisor's 400 does not qualify
    mine = ok(await stack.performance.get(f"/v1/contests/{contest['id']}/standings",
                                          headers=stack.as_user(DataScope(agent_id=p["b"]), "agent")))
    assert [(r["place"], r["agent_id"]) for r in mine] == [(1, p["b"])]
