"""The recruiting bonus 增员奖 end to end: org announces who recruited a joiner, performance keeps it
from the feed, and a settlement under a rule set with the bonus pays the recruiter a line that names
the recruit, the month of the window and the arithmetic."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text

from svckit.testing.responses import ok, problem

from .conftest import Stack, company, hire
from .test_settlement_flow import close_the_month, sell, settle, this_month

D = Decimal


async def test_the_recruiter_draws_the_bonus_on_the_recruits_fyc(stack: Stack) -> None:
    c = await company(stack.org)
    period, today = this_month()
    recruiter = await hire(stack.org, c, "agent")
    recruit = await hire(stack.org, c, "agent", on=today.replace(day=1).isoformat(), recruiter_id=recruiter)
    await stack.sync()
    async with stack.engine.connect() as connection:
        kept = (await connection.execute(text(
            "SELECT recruiter_id, joined_on FROM performance.recruit WHERE agent_id = :a"), {"a": recruit})).one()
    assert (kept.recruiter_id, kept.joined_on) == (recruiter, today.replace(day=1))

    await sell(stack, c, recruit, "1000.00")
    await stack.sync()
    close_the_month(stack)
    proposal = ok(await stack.performance.get("/v1/rule-sets"))[0]["body"]
    proposal["recruiting_bonus"] = {"ranks": ["agent"], "rate": "0.10", "months": 12, "probation_months": 0}
    run = await settle(stack, period, mode="what_if", rule_set=proposal)

    mine = ok(await stack.performance.get(f"/v1/statements/{recruiter}", params={"run_id": run["id"]}))
    [line] = mine["lines"]
    assert (line["kind"], line["rule"], D(line["amount"])) == ("recruiting_bonus", "recruiting_bonus", D("30.00"))
    assert (line["base"]["recruit_id"], line["base"]["month_no"], line["base"]["recruit_fyc"]) == (recruit, 1,
                                                                                                   "300.00")
    assert line["arithmetic"] == "300.00 × 0.10 = 30.00 (month 1 of 12)"
    assert D(mine["net"]) == D("30.00")

    # On a one-month probation the same month earns nothing.
    proposal["recruiting_bonus"]["probation_months"] = 1
    strict = await settle(stack, period, mode="what_if", rule_set=proposal)
    problem(await stack.performance.get(f"/v1/statements/{recruiter}", params={"run_id": strict["id"]}), 404,
            "statement_not_found")
