"""A team's targets found by team and year (what activity holds a team's monthly plan to), under data scope."""

from __future__ import annotations

from svckit.scope import DataScope
from svckit.testing.responses import ok

from .conftest import Stack, company


async def test_a_teams_targets_are_found_by_team_and_year(stack: Stack) -> None:
    c = await company(stack.org)
    await stack.sync()
    marketing = stack.as_user(DataScope(everything=True), "marketing_management")
    body = {"team_id": c.department, "institution_id": c.office, "year": 2031, "metric": "premium",
            "amount": "1200000.00"}
    premium = ok(await stack.performance.post("/v1/targets", headers=marketing, json=body), 201)
    recruits = ok(await stack.performance.post("/v1/targets", headers=marketing,
                                               json={**body, "metric": "recruits", "amount": "12"}), 201)
    found = ok(await stack.performance.get("/v1/targets", params={"team_id": c.department, "year": 2031}))
    assert [t["id"] for t in found] == [premium["id"], recruits["id"]]
    only = ok(await stack.performance.get("/v1/targets", params={"team_id": c.department, "year": 2031,
                                                                "metric": "premium"}))
    assert [t["id"] for t in only] == [premium["id"]]
    assert {s["key"] for s in only[0]["shares"] if s["level"] == "month"} >= {"2031-01", "2031-12"}
    assert ok(await stack.performance.get("/v1/targets", params={"team_id": c.department, "year": 2030})) == []
    elsewhere = stack.as_user(DataScope(institutions=frozenset({c.office + 10_000})), "back_office")
    assert ok(await stack.performance.get("/v1/targets", params={"team_id": c.department, "year": 2031},
                                          headers=elsewhere)) == []
