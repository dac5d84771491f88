"""A receipt posts on the business day (Asia/Shanghai) its money was handed over, not the UTC date: cash
handed over at 07:30 on 1 November in Tianjin is November's, although it is still 31 October in UTC."""

from __future__ import annotations

from svckit.scope import DataScope
from svckit.testing.responses import ok

from .conftest import Stack
from .test_ledger_flow import first_receivable, issue, people


async def test_a_receipt_posts_on_the_business_day_it_was_handed_over(stack: Stack) -> None:
    c, p = await people(stack)
    due = await first_receivable(stack, await issue(stack, p["a"], issued_on="2026-10-28"))
    agent = stack.as_user(DataScope(agent_id=p["a"]), "agent")
    receipt = ok(await stack.ledger.post("/v1/receipts", headers=agent, json={
        "receivable_id": due["id"], "amount": "3600.00", "method": "cash",
        "handed_over_at": "2026-11-01T07:30:00+08:00"}), 201)
    cashier = stack.as_user(DataScope(institutions=frozenset({c.branch})), "finance")
    confirmed = ok(await stack.ledger.post(f"/v1/receipts/{receipt['id']}/confirmation", headers=cashier,
                                           json={"note": "现金已收"}))
    assert ok(await stack.ledger.get(f"/v1/journal/entries/{confirmed['entry_id']}"))["effective_on"] == "2026-11-01"
    events = ok(await stack.ledger.get("/internal/feed", params={"limit": 1000}))["events"]
    [received] = [e for e in events if e["type"] == "premium.received" and e["payload"]["receivable_id"] == due["id"]]
    assert received["payload"]["received_on"] == "2026-11-01"
