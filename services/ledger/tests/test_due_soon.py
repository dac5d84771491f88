"""GET /v1/receivables/due-soon: open premiums whose collection deadline is within the next working days,
on the ledger's holiday calendar, within the caller's scope."""

from __future__ import annotations

from decimal import Decimal

from svckit.scope import DataScope
from svckit.testing.responses import ok, problem

from .conftest import Stack
from .test_ledger_flow import issue, people

# 2026-09-30 is the Wednesday before National Day: Oct 1–7 are holidays and Saturday Oct 10 is a
# make-up working day, so the fifth working day after it is Tuesday Oct 13 (a weekday count says Oct 7).
ON = "2026-09-30"


async def test_the_window_is_counted_on_the_holiday_calendar_and_scoped(stack: Stack) -> None:
    _, p = await people(stack)
    inside = await issue(stack, p["a"], issued_on="2026-09-28", premium="3600.00")  # deadline Oct 10
    b_inside = await issue(stack, p["b"], issued_on="2026-09-29", premium="1200.00")  # deadline Oct 12
    await issue(stack, p["a"], issued_on="2026-10-08")  # deadline Oct 14: after the window
    await issue(stack, p["a"], issued_on="2026-09-01")  # deadline Sep 8: already overdue, not "due soon"
    await issue(stack, p["c"], issued_on="2026-09-28")  # another team's

    agent = stack.as_user(DataScope(agent_id=p["a"]), "agent")
    mine = ok(await stack.ledger.get("/v1/receivables/due-soon", params={"on": ON}, headers=agent))
    assert (mine["on"], mine["until"], mine["working_days"], mine["provisional"]) == (ON, "2026-10-13", 5, False)
    assert [(r["policy_id"], r["deadline_on"]) for r in mine["items"]] == [(inside["id"], "2026-10-10")]
    assert mine["count"] == 1
    assert [(t["currency"], Decimal(t["outstanding"]), t["receivables"]) for t in mine["totals"]] == [
        ("CNY", Decimal("3600"), 1)]

    supervisor = stack.as_user(DataScope(agent_id=p["sup"], subtree=True), "supervisor")
    team = ok(await stack.ledger.get("/v1/receivables/due-soon", params={"on": ON}, headers=supervisor))
    assert [r["policy_id"] for r in team["items"]] == [inside["id"], b_inside["id"]]
    assert [(t["currency"], Decimal(t["outstanding"]), t["receivables"]) for t in team["totals"]] == [
        ("CNY", Decimal("4800"), 2)]

    short = ok(await stack.ledger.get("/v1/receivables/due-soon", params={"on": ON, "limit": 1}, headers=supervisor))
    assert (len(short["items"]), short["count"]) == (1, 2)
    shorter = ok(await stack.ledger.get("/v1/receivables/due-soon", params={"on": ON, "working_days": 1},
                                        headers=supervisor))
    assert (shorter["until"], shorter["count"]) == ("2026-10-08", 0)

    stranger = stack.as_user(DataScope(agent_id=p["c"] + 10_000_000), "agent")
    assert ok(await stack.ledger.get("/v1/receivables/due-soon", params={"on": ON}, headers=stranger))["count"] == 0
    bad = problem(await stack.ledger.get("/v1/receivables/due-soon", params={"working_days": "-1"}, headers=agent),
                  422, "validation_failed")
    assert "working_days" in str(bad["errors"])
