"""A settlement's payables are posted set-based: each agent's entry debits commission expense per
policy the commission was earned on (or once), credits their commission payable, and is checked by
the journal's rules before anything is written."""

from __future__ import annotations

from decimal import Decimal

from svckit.testing.responses import ok, problem

from .conftest import Stack
from .test_ledger_flow import issue, people


async def test_each_payable_is_one_entry_per_agent_with_a_line_per_policy(stack: Stack) -> None:
    c, p = await people(stack)
    one = await issue(stack, p["a"], issued_on="2026-11-02")
    two = await issue(stack, p["a"], issued_on="2026-11-03")
    body = {"period": "2026-11", "effective_on": "2026-11-30", "lines": [
        {"agent_id": p["a"], "amount": "1000.30", "policies": [{"policy_id": two["id"], "amount": "600.10"},
                                                               {"policy_id": one["id"], "amount": "400.20"}]},
        {"agent_id": p["b"], "amount": "250.00"}]}
    posted = ok(await stack.ledger.post("/v1/payables/settlements/run-entries-1", json=body))
    assert [(r["agent_id"], r["status"]) for r in posted] == [(p["a"], "posted"), (p["b"], "posted")]
    first = ok(await stack.ledger.get(f"/v1/journal/entries/{posted[0]['entry_id']}"))
    assert (first["kind"], first["branch_id"], first["effective_on"], first["source"]) == (
        "commission", c.branch, "2026-11-30", f"payable:run-entries-1:{p['a']}")
    assert [(x["line_no"], x["account"], x["side"], Decimal(x["amount"]), x["agent_id"], x["policy_id"])
            for x in first["postings"]] == [
        (1, "commission_expense", "debit", Decimal("600.10"), p["a"], two["id"]),
        (2, "commission_expense", "debit", Decimal("400.20"), p["a"], one["id"]),
        (3, "commission_payable", "credit", Decimal("1000.30"), p["a"], None)]
    second = ok(await stack.ledger.get(f"/v1/journal/entries/{posted[1]['entry_id']}"))
    assert [(x["account"], x["side"], Decimal(x["amount"]), x["policy_id"]) for x in second["postings"]] == [
        ("commission_expense", "debit", Decimal(250), None), ("commission_payable", "credit", Decimal(250), None)]
    owed = ok(await stack.ledger.get("/v1/journal/balances", params={"agent_id": p["a"],
                                                                     "account": "commission_payable"}))
    assert Decimal(owed[0]["net_debit"]) == Decimal("-1000.30")
    assert ok(await stack.ledger.get("/v1/journal/trial-balance"))["balanced"] is True


async def test_a_line_the_journal_would_refuse_refuses_the_request_naming_it(stack: Stack) -> None:
    _, p = await people(stack)
    body = {"period": "2026-11", "effective_on": "2026-11-30", "lines": [
        {"agent_id": p["b"], "amount": "250.00"}, {"agent_id": p["a"], "amount": "10.001"}]}
    refused = problem(await stack.ledger.post("/v1/payables/settlements/run-entries-2", json=body), 422,
                      "amount_too_precise")
    assert refused["field"] == "lines[1].amount"
    split = {**body, "lines": [{"agent_id": p["a"], "amount": "10.00", "policies": [
        {"policy_id": 1, "amount": "9.999"}, {"policy_id": 2, "amount": "0.001"}]}]}
    assert problem(await stack.ledger.post("/v1/payables/settlements/run-entries-2", json=split), 422,
                   "amount_too_precise")["field"] == "lines[0].policies[0].amount"
    listed = ok(await stack.ledger.get("/v1/payables", params={"limit": 500}))["items"]
    assert [x for x in listed if x["settlement_run"] == "run-entries-2"] == []  # not even agent b's line
