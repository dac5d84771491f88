"""Auto-debit end to end in the ledger: a batch for due premiums, the bank's answers by API and in a
reconciliation file — twice, late, out of order, contradicting, for nothing we sent — and finance
resolving what was held. The money is checked at the end."""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal
from typing import Any

from ledger_service.bank_rules import parse_reconciliation
from svckit.scope import DataScope
from svckit.testing.asgi import internal_headers
from svckit.testing.responses import ok, problem

from .conftest import Stack
from .test_ledger_flow import issue, people


def as_bank(stack: Stack, code: str) -> dict[str, str]:
    """Headers of a call the gateway verified as coming from partner bank `code`."""
    return internal_headers(stack.secret, "ledger", user_id=f"partner:{code}", username=code,
                            roles=frozenset({"partner_bank"}))


def line(instruction: str, reference: str, amount: str, outcome: str = "success", reason: str = "") -> str:
    return f"{instruction},{reference},2026-11-30,{amount},CNY,{outcome},{reason}\n"


HEADER = "instruction_id,bank_reference,value_date,amount,currency,outcome,reason_code\n"


async def upload(stack: Stack, code: str, content: str) -> Any:
    return await stack.ledger.post("/v1/bank/reconciliation-files", params={"file_date": "2026-11-30"},
                                   content=content.encode(), headers={**as_bank(stack, code),
                                                                      "content-type": "text/csv"})


async def test_auto_debit_results_take_effect_once_and_the_rest_is_held_for_finance(stack: Stack) -> None:
    c, p = await people(stack)
    code = f"icbc{secrets.token_hex(2)}"
    cashier = stack.as_user(DataScope(institutions=frozenset({c.branch})), "finance")
    ok(await stack.ledger.put(f"/v1/bank-accounts/{code}", headers=cashier,
                              json={"name": "工商银行代扣账户", "branch_id": c.branch}))
    debit = {"payment_mode": "bank_debit", "issued_on": "2026-11-02"}
    p1 = await issue(stack, p["a"], premium="3600.00", mandate_ref="M-1", **debit)
    p2 = await issue(stack, p["a"], premium="1200.00", mandate_ref="M-2", **debit)
    p3 = await issue(stack, p["b"], premium="500.00", mandate_ref="M-3", **debit)
    await issue(stack, p["b"], premium="700.00", issued_on="2026-11-02")  # paid in cash: not debited

    batch = ok(await stack.ledger.post("/v1/debit-batches", headers=cashier,
                                       json={"bank_code": code, "due_through": "2026-11-30"}), 201)
    assert (batch["instructions"], Decimal(batch["total"])) == (3, Decimal(5300))
    again = ok(await stack.ledger.post("/v1/debit-batches", headers=cashier,
                                       json={"bank_code": code, "due_through": "2026-11-30"}), 201)
    assert again["instructions"] == 0  # premiums already being debited are not debited twice

    bank = as_bank(stack, code)
    assert [b["id"] for b in ok(await stack.ledger.get("/v1/bank/batches", headers=bank))] == [batch["id"], again["id"]]
    problem(await stack.ledger.get(f"/v1/bank/batches/{batch['id']}/instructions", headers=as_bank(stack, "other")),
            404, "batch_not_found")
    listed = ok(await stack.ledger.get(f"/v1/bank/batches/{batch['id']}/instructions", headers=bank))["items"]
    by_mandate = {i["mandate_ref"]: i["id"] for i in listed}
    i1, i2, i3 = by_mandate["M-1"], by_mandate["M-2"], by_mandate["M-3"]
    assert ok(await stack.ledger.post(f"/v1/bank/batches/{batch['id']}/acknowledgement",
                                      headers=bank))["status"] == "acknowledged"

    def result(instruction: str, reference: str, amount: str, outcome: str = "success",
               reason: str | None = None) -> dict[str, Any]:
        return {"instruction_id": instruction, "outcome": outcome, "amount": amount, "reason_code": reason,
                "bank_reference": reference, "value_date": "2026-11-30"}

    # A result for an instruction never sent refuses the whole request: nothing is applied.
    refused = problem(await stack.ledger.post("/v1/bank/results", headers=bank, json={"results": [
        result(i1, "B1", "3600.00"), result(str(uuid.uuid4()), "B?", "1.00")]}), 422, "instruction_unknown")
    assert refused["field"] == "results[1].instruction_id"
    problem(await stack.ledger.post("/v1/bank/results", headers=bank, json={"results": [
        result(i2, "B2", "1200.00", "failure")]}), 422, "reason_code_rule")
    problem(await stack.ledger.post("/v1/bank/results", headers=cashier, json={"results": [
        result(i1, "B1", "3600.00")]}), 403, "role_required")

    first = ok(await stack.ledger.post("/v1/bank/results", headers=bank, json={"results": [
        result(i1, "B1", "3600.00"), result(i2, "B2", "1200.00", "failure", "insufficient_funds"),
        result(i1, "B1", "3600.00")]}))
    assert [x["disposition"] for x in first["items"]] == ["applied", "failed", "duplicate"]
    assert ok(await stack.ledger.post("/v1/bank/results", headers=bank, json={"results": [
        result(i1, "B1", "3600.00")]}))["items"][0]["disposition"] == "duplicate"

    # The file comes before i3's own result (out of order), with a broken line first.
    content = (HEADER + line(i1, "B1", "3600.00") + line(i2, "B2", "1200.00", "failure", "insufficient_funds")
               + line(i3, "B3", "500.00") + line("", "B4", "88.00"))
    broken = problem(await upload(stack, code, content + line(i3, "B5", "abc")), 422, "reconciliation_file_invalid")
    assert [(e["line"], e["field"]) for e in broken["errors"]] == [(6, "amount")]
    report = ok(await upload(stack, code, content))
    assert (report["lines"], report["applied"], report["duplicates"], report["exceptions"]) == (4, 1, 2, 1)
    assert (Decimal(report["suspense_amount"]), report["replayed"]) == (Decimal(88), False)
    replay = ok(await upload(stack, code, content))
    assert replay["replayed"] is True
    assert replay["file_id"] == report["file_id"]
    late = ok(await stack.ledger.post("/v1/bank/results", headers=bank, json={"results": [
        result(i3, "B3", "500.00")]}))
    assert late["items"][0]["disposition"] == "duplicate"
    # The bank now says i2 succeeded after all: contradicts its failure, the money is held.
    conflict = ok(await stack.ledger.post("/v1/bank/results", headers=bank, json={"results": [
        result(i2, "B6", "1200.00")]}))
    assert conflict["items"][0]["disposition"] == "conflicting_result"

    held = ok(await stack.ledger.get("/v1/bank-exceptions", headers=cashier))["items"]
    assert sorted((h["kind"], Decimal(h["amount"])) for h in held) == [
        ("conflicting_result", Decimal(1200)), ("unknown_instruction", Decimal(88))]
    kinds = {h["kind"]: h for h in held}
    receivable_2 = await _receivable_of(stack, p2)
    resolution = {"how": "apply_to_receivable", "on": "2026-12-01", "receivable_id": receivable_2,
                  "note": "银行确认扣款成功"}
    applied = ok(await stack.ledger.post(f"/v1/bank-exceptions/{kinds['conflicting_result']['id']}/resolution",
                                         headers=cashier, json=resolution))
    assert applied["status"] == "resolved"
    problem(await stack.ledger.post(f"/v1/bank-exceptions/{kinds['conflicting_result']['id']}/resolution",
                                    headers=cashier, json={"how": "refund", "on": "2026-12-01", "note": "again"}),
            409, "exception_already_resolved")
    problem(await stack.ledger.post(f"/v1/bank-exceptions/{kinds['unknown_instruction']['id']}/resolution",
                                    headers=cashier, json={"how": "dismiss", "on": "2026-12-01", "note": "x"}),
            409, "resolution_not_allowed")
    ok(await stack.ledger.post(f"/v1/bank-exceptions/{kinds['unknown_instruction']['id']}/resolution",
                               headers=cashier, json={"how": "refund", "on": "2026-12-01", "note": "退回客户"}))

    for policy in (p1, p2, p3):
        status = ok(await stack.ledger.get(f"/v1/receivables/{await _receivable_of(stack, policy)}"))["status"]
        assert status == "settled", policy["policy_no"]
    suspense = ok(await stack.ledger.get("/v1/journal/balances", params={"branch_id": c.branch,
                                                                         "account": "suspense"}))
    assert Decimal(suspense[0]["net_debit"]) == 0
    bank_money = ok(await stack.ledger.get("/v1/journal/balances", params={"branch_id": c.branch,
                                                                           "account": "bank"}))
    assert Decimal(bank_money[0]["net_debit"]) == Decimal(5300)  # 3600 + 500 + 1200, the 88 refunded
    assert ok(await stack.ledger.get("/v1/journal/trial-balance"))["balanced"] is True
    events = ok(await stack.ledger.get("/internal/feed", params={"limit": 1000}))["events"]
    received = [(e["payload"]["via"], e["payload"]["received_on"]) for e in events
                if e["type"] == "premium.received" and e["payload"]["policy_id"] in (p1["id"], p2["id"], p3["id"])]
    # Each counts on the day the money came: the bank's value date, or the day finance applied it.
    assert sorted(received) == [("bank_debit", "2026-11-30"), ("bank_debit", "2026-11-30"), ("suspense", "2026-12-01")]


async def _receivable_of(stack: Stack, policy: dict[str, Any]) -> int:
    page = ok(await stack.ledger.get("/v1/receivables/overdue", params={"on": "2099-01-01",
                                                                         "agent_id": policy["agent_id"]}))
    found = [r for r in page["items"] if r["policy_id"] == policy["id"]]
    if found:
        return int(found[0]["id"])
    events = ok(await stack.ledger.get("/internal/feed", params={"limit": 1000}))["events"]
    return int(next(e["payload"]["receivable_id"] for e in events
                    if e["type"] == "receivable.created" and e["payload"]["policy_id"] == policy["id"]))


async def test_a_broken_file_is_reported_line_by_line_as_the_rules_read_it(stack: Stack) -> None:
    """The database's check of a file names the same lines and fields as bank_rules.parse_reconciliation."""
    c, _ = await people(stack)
    code = f"chk{secrets.token_hex(2)}"
    cashier = stack.as_user(DataScope(institutions=frozenset({c.branch})), "finance")
    ok(await stack.ledger.put(f"/v1/bank-accounts/{code}", headers=cashier, json={"name": "x", "branch_id": c.branch}))
    some = str(uuid.uuid4())
    content = (HEADER + "not-a-uuid,B1,2026-11-30,1.00,CNY,success,\n"
               + line(some, "B2", "1.00").replace("2026-11-30", "30/11/2026")
               + line(some, "B3", "1.001") + line(some, "B4", "1.00", "failure")
               + f"{some},B5,2026-11-30,1.00,CNY\n" + line(some, "B6", "-1.00") + line(some, "B7", "1.00", "maybe")
               + line(some, "B8", "1.00", "success", "account_closed") + line(some, "", "1.00")
               + line(some, "B9", "1.00").replace("CNY", "XYZ") + line(some, "B10", "2.00", "failure", "no_idea")
               + line(some, "B11", "1.00") + "\n" + line(some, "B12", "1.00").replace("2026-11-30", "2026-02-30"))
    refused = problem(await upload(stack, code, content), 422, "reconciliation_file_invalid")
    _, expected = parse_reconciliation(content)
    assert [(e["line"], e["field"]) for e in refused["errors"]] == [(e.line, e.field) for e in expected]
    assert refused["rejected_lines"] == len(expected) == 12
    problem(await upload(stack, code, "id,amount\n" + line(some, "B1", "1.00")), 422, "reconciliation_file_invalid")
    assert ok(await stack.ledger.get("/v1/bank-exceptions", headers=cashier))["items"] == []  # nothing applied
