"""GET /v1/month-progress: each agent's month so far (received premium, FYC, monthly target and its
achievement) within the caller's scope."""

from __future__ import annotations

from decimal import Decimal

from svckit.scope import DataScope
from svckit.testing.responses import ok, problem

from .conftest import Stack
from .test_settlement_flow import department, sell, this_month

D = Decimal


async def test_the_month_so_far_per_agent_within_the_scope(stack: Stack) -> None:
    c, p = await department(stack)
    period, today = this_month()
    marketing = stack.as_user(DataScope(everything=True), "marketing_management")
    # 120,000 a year in equal months (10,000 a month); a holds 3/4 of it, b 1/4.
    ok(await stack.performance.post("/v1/targets", headers=marketing, json={
        "team_id": c.department, "institution_id": c.office, "year": today.year, "metric": "premium",
        "amount": "120000.00", "agent_weights": {str(p["a"]): "3", str(p["b"]): "1"}}), 201)
    await sell(stack, c, p["a"], "2500.00")
    await sell(stack, c, p["b"], "1500.00")
    await sell(stack, c, p["c"], "800.00")
    await stack.sync()

    agent = stack.as_user(DataScope(agent_id=p["a"]), "agent")
    mine = ok(await stack.performance.get("/v1/month-progress", params={"period": period}, headers=agent))
    assert (mine["period"], mine["currency"]) == (period, "CNY")
    [a] = mine["agents"]
    assert a["agent_id"] == p["a"]
    # FYC: first-year received premium × the seeded year-1 rate of 30 %.
    assert (D(a["received_premium"]), D(a["first_year_received"]), D(a["fyc"])) == (D(2500), D(2500), D(750))
    assert (D(a["target"]), D(a["achievement"])) == (D("7500.00"), D("0.3333"))

    supervisor = stack.as_user(DataScope(agent_id=p["s"], subtree=True), "supervisor")
    team = ok(await stack.performance.get("/v1/month-progress", params={"period": period}, headers=supervisor))
    rows = {r["agent_id"]: r for r in team["agents"]}
    assert set(rows) == {p["s"], p["a"], p["b"]}  # c reports to the manager, outside the supervisor's line
    assert (D(rows[p["b"]]["target"]), D(rows[p["b"]]["achievement"])) == (D("2500.00"), D("0.6"))
    assert (rows[p["s"]]["target"], rows[p["s"]]["achievement"]) == (None, None)
    assert D(rows[p["s"]]["fyc"]) == 0

    problem(await stack.performance.get("/v1/month-progress", params={"period": "2026-13"}, headers=agent), 422,
            "validation_failed")
