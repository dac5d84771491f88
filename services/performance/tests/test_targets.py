"""Targets decomposed exactly to quarter, month, ISO week and agent, and achievement against them."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from performance_service.targets import allocate, decompose
from svckit.scope import DataScope
from svckit.testing.responses import ok, problem

from .conftest import Stack, hire
from .test_settlement_flow import department, sell, this_month

D = Decimal


@pytest.mark.parametrize(("amount", "places"), [(D("5000000.00"), 2), (D("1234567.89"), 2), (D(37), 0)])
def test_every_level_adds_up_to_the_year(amount: Decimal, places: int) -> None:
    weights = [D(x) for x in (5, 6, 9, 8, 8, 9, 7, 7, 9, 10, 10, 12)]
    shares = decompose(2027, amount, weights, {11: D(2), 12: D(1), 13: D(1)}, places)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for level, _, value in shares:
        totals[level] += value
        assert value == value.quantize(D(1).scaleb(-places))
    assert dict(totals) == {"quarter": amount, "month": amount, "week": amount, "agent": amount}
    keys = {key for level, key, _ in shares if level == "week"}
    assert "2026-W53" in keys  # 1-3 January 2027 belong to the last ISO week of 2026
    assert "2027-W52" in keys


def test_allocation_keeps_every_unit() -> None:
    assert allocate(D("100.00"), [D(1), D(1), D(1)], 2) == [D("33.34"), D("33.33"), D("33.33")]
    assert allocate(D(10), [D(1)] * 4, 0) == [D(3), D(3), D(2), D(2)]


async def test_a_team_target_and_what_it_achieved(stack: Stack) -> None:
    c, p = await department(stack)
    period, today = this_month()
    year = today.year
    marketing = stack.as_user(DataScope(everything=True), "marketing_management")
    body = {"team_id": c.department, "institution_id": c.office, "year": year, "metric": "premium",
            "amount": "120000.00", "agent_weights": {str(p["a"]): "3", str(p["b"]): "1"}}
    created = ok(await stack.performance.post("/v1/targets", headers=marketing, json=body), 201)
    month = next(s for s in created["shares"] if s["level"] == "month" and s["key"] == period)
    assert D(month["amount"]) == D("10000.00")
    agents = {s["key"]: D(s["amount"]) for s in created["shares"] if s["level"] == "agent"}
    assert agents == {str(p["a"]): D("90000.00"), str(p["b"]): D("30000.00")}
    problem(await stack.performance.post("/v1/targets", headers=marketing, json=body), 409, "target_exists")

    await sell(stack, c, p["a"], "2500.00")
    await sell(stack, c, p["b"], "1500.00")
    await stack.sync()
    got = ok(await stack.performance.get(f"/v1/targets/{created['id']}/achievement", params={"period": period}))
    assert (D(got["target"]), D(got["achieved"]), D(got["ratio"])) == (D("10000.00"), D("4000.00"), D("0.4"))
    assert {k: D(v) for k, v in got["by_agent"].items()} == {str(p["a"]): D(2500), str(p["b"]): D(1500)}

    recruiting = ok(await stack.performance.post("/v1/targets", headers=marketing, json={
        "team_id": c.department, "institution_id": c.office, "year": year, "metric": "recruits", "amount": "24"}),
        201)
    await hire(stack.org, c, "agent", p["s"], on=today.isoformat())
    await stack.sync()
    joined = ok(await stack.performance.get(f"/v1/targets/{recruiting['id']}/achievement",
                                            params={"period": period}))
    assert (D(joined["target"]), D(joined["achieved"])) == (D(2), D(1))
    elsewhere = stack.as_user(DataScope(institutions=frozenset({c.office + 10_000})), "back_office")
    problem(await stack.performance.get(f"/v1/targets/{created['id']}", headers=elsewhere), 404,
            "target_not_found")
