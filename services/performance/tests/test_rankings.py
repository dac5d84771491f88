"""Leaderboards from the facts, within the caller's data scope, ties sharing a place."""

from __future__ import annotations

from decimal import Decimal

from svckit.scope import DataScope
from svckit.testing.responses import ok

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
