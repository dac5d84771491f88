"""Another branch's finance and a partner bank's collection account: the account collects for its
branch, so only finance that may see that branch renames it or points it elsewhere; its batches are
refused to others like batches that do not exist."""

from __future__ import annotations

import secrets

from svckit.scope import DataScope
from svckit.testing.org import company
from svckit.testing.responses import ok, problem

from .conftest import Stack


async def test_finance_of_another_branch_cannot_take_over_a_banks_account_or_read_its_batches(stack: Stack) -> None:
    x, y = await company(stack.org), await company(stack.org)
    await stack.sync()
    fin_x = stack.as_user(DataScope(institutions=frozenset({x.branch})), "finance")
    fin_y = stack.as_user(DataScope(institutions=frozenset({y.branch})), "finance")
    code = f"icbc{secrets.token_hex(2)}"
    ok(await stack.ledger.put(f"/v1/bank-accounts/{code}", headers=fin_x,
                              json={"name": "工商银行代扣账户", "branch_id": x.branch}))

    # Pointing X's account at Y (a branch fin_y may book to) would send X's money to Y's books.
    refused = problem(await stack.ledger.put(f"/v1/bank-accounts/{code}", headers=fin_y,
                                             json={"name": "ATTACK", "branch_id": y.branch}), 404,
                      "bank_account_not_found")
    assert refused["field"] == "bank_code"
    account = ok(await stack.ledger.get("/v1/bank-accounts", headers=fin_x))
    assert [(a["bank_code"], a["name"], a["branch_id"]) for a in account] == [(code, "工商银行代扣账户", x.branch)]
    assert ok(await stack.ledger.get("/v1/bank-accounts", headers=fin_y)) == []

    # A batch of X's account is refused to Y exactly like a batch or an account that does not exist.
    batch = ok(await stack.ledger.post("/v1/debit-batches", headers=fin_x,
                                       json={"bank_code": code, "due_through": "2026-11-30"}), 201)
    assert ok(await stack.ledger.get(f"/v1/debit-batches/{batch['id']}", headers=fin_x))["id"] == batch["id"]
    assert problem(await stack.ledger.get(f"/v1/debit-batches/{batch['id']}", headers=fin_y), 404,
                   "batch_not_found")["field"] == "batch_id"
    problem(await stack.ledger.get(f"/v1/debit-batches/{batch['id'] + 10_000}", headers=fin_x), 404,
            "batch_not_found")
    for bank_code in (code, f"unknown{secrets.token_hex(2)}"):
        assert problem(await stack.ledger.post("/v1/debit-batches", headers=fin_y, json={
            "bank_code": bank_code, "due_through": "2026-11-30"}), 404, "bank_account_unknown")["field"] == "bank_code"
