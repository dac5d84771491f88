"""13-month persistency from the ledger's policies and premiums: premium, count and the composite rule."""

from __future__ import annotations

import copy
import secrets
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from performance_service import gaps, rules
from performance_service.defaults import DEFAULT_RULE_SET
from performance_service.persistency import rates
from performance_service.rules import Persistency
from svckit.scope import DataScope
from svckit.testing.responses import ok, problem
from svckit.timeutil import add_months, utcnow

from .conftest import Company, Stack
from .test_settlement_flow import department, this_month

D = Decimal


def test_the_composite_is_seventy_thirty_by_default() -> None:
    assert rates(Persistency(), 2, D(4000), 1, D(1000)) == {
        "premium_rate": D("0.2500"), "count_rate": D("0.5000"), "composite": D("0.3250")}
    assert rates(Persistency(), 0, D(0), 0, D(0))["composite"] is None


async def paid_policy(stack: Stack, c: Company, agent: int, premium: str, issued_on: str,
                      renew_on: str | None) -> dict[str, Any]:
    """A policy issued a year ago and more; its first premium paid, and its second when `renew_on`."""
    policy = ok(await stack.ledger.post("/v1/policies", json={
        "policy_no": f"P-{secrets.token_hex(5)}", "agent_id": agent, "product_code": "LIFE-20", "insurer": "本公司",
        "policyholder": {"kind": "individual", "name": "李四", "external_ref": f"C-{secrets.token_hex(4)}"},
        "premium": premium, "frequency": "annual", "payment_mode": "cash", "issued_on": issued_on}), 201)
    dues = []
    if renew_on is not None:
        dues.append(ok(await stack.ledger.post(f"/v1/policies/{policy['id']}/renewals", json={"due_on": renew_on}),
                       201))
    page = ok(await stack.ledger.get("/v1/receivables", params={"agent_id": agent}))
    for due in [r for r in page["items"] if r["policy_id"] == policy["id"]]:
        receipt = ok(await stack.ledger.post("/v1/receipts", headers=stack.ledger_as(DataScope(agent_id=agent),
                                                                                      "agent"), json={
            "receivable_id": due["id"], "amount": premium, "method": "cash",
            "handed_over_at": utcnow().isoformat()}), 201)
        ok(await stack.ledger.post(f"/v1/receipts/{receipt['id']}/confirmation", json={"note": "收讫"}))
    return dict(policy)


async def test_thirteen_month_persistency_of_an_agent_and_a_line(stack: Stack) -> None:
    c, p = await department(stack)
    period, today = this_month()
    issued = add_months(today.replace(day=1), -13).replace(day=15)
    renewal = add_months(issued, 12)
    await paid_policy(stack, c, p["a"], "1000.00", issued.isoformat(), renewal.isoformat())
    await paid_policy(stack, c, p["a"], "3000.00", issued.isoformat(), None)
    await stack.sync()
    mine = ok(await stack.performance.get("/v1/persistency", params={"period": period, "agent_id": p["a"]}))
    assert mine["cohort"] == issued.strftime("%Y-%m")
    assert (mine["policies"], mine["persisting_policies"]) == (2, 1)
    assert (D(mine["premium_rate"]), D(mine["count_rate"]), D(mine["composite"])) == (
        D("0.25"), D("0.5"), D("0.325"))
    line = ok(await stack.performance.get("/v1/persistency", params={"period": period, "line_of": p["s"]}))
    assert (line["policies"], D(line["composite"])) == (2, D("0.325"))
    other = ok(await stack.performance.get("/v1/persistency", params={"period": period, "line_of": p["c"]}))
    assert (other["policies"], other["composite"]) == (0, None)
    agent_b = stack.as_user(DataScope(agent_id=p["b"]), "agent")
    problem(await stack.performance.get("/v1/persistency", params={"period": period, "agent_id": p["a"]},
                                        headers=agent_b), 404, "agent_not_found")
    problem(await stack.performance.get("/v1/persistency", params={"period": period}), 422, "one_subject")


async def test_persistency_as_a_promotion_condition(stack: Stack) -> None:
    c, p = await department(stack)
    period, today = this_month()
    issued = add_months(today.replace(day=1), -13).replace(day=10)
    await paid_policy(stack, c, p["b"], "1000.00", issued.isoformat(), add_months(issued, 12).isoformat())
    await paid_policy(stack, c, p["b"], "1000.00", issued.isoformat(), None)
    await stack.sync()
    value = copy.deepcopy(DEFAULT_RULE_SET)
    value["rank_conditions"][0]["persistency_min"] = "0.80"
    body = rules.parse(value)
    async with AsyncSession(stack.engine) as session:
        found = await gaps.gap(session, agent_id=p["b"], rank_code="agent", period=period, kind="promotion",
                               count_back=[], body=body)
        fresh = await gaps.gap(session, agent_id=p["a"], rank_code="agent", period=period, kind="promotion",
                               count_back=[], body=body)
    measured = next(x for x in found["conditions"] if x["condition"] == "persistency")
    # Half the premium and half the policies still paying: 0.7 × 0.5 + 0.3 × 0.5.
    assert (measured["actual"], measured["missing"], measured["met"]) == (D("0.5"), D("0.3"), False)
    unmeasured = next(x for x in fresh["conditions"] if x["condition"] == "persistency")
    assert unmeasured["met"] is True  # no policy in the cohort: not assessed on it
