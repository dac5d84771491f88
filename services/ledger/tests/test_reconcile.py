"""The set-based reconciliation (reconcile.py) answers exactly as the rules written as plain
functions (bank_rules.classify), on random submissions: repeats, late and contradicting answers,
wrong amounts, a premium paid in cash meanwhile, instructions we never sent."""

from __future__ import annotations

import random
import secrets
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger_service import bank
from ledger_service.bank_rules import InstructionState, Result, classify
from svckit.scope import DataScope
from svckit.testing.responses import ok

from .conftest import Stack
from .test_ledger_flow import issue, people


async def test_reconciliation_agrees_with_the_rules_on_random_submissions(stack: Stack) -> None:
    c, p = await people(stack)
    code = f"rnd{secrets.token_hex(3)}"
    cashier = stack.as_user(DataScope(institutions=frozenset({c.branch})), "finance")
    ok(await stack.ledger.put(f"/v1/bank-accounts/{code}", headers=cashier, json={"name": "x", "branch_id": c.branch}))
    for n in range(8):
        await issue(stack, p["a"], premium=f"{100 + n}.00", payment_mode="bank_debit", mandate_ref=f"M{n}",
                    issued_on="2026-11-02")
    ok(await stack.ledger.post("/v1/debit-batches", headers=cashier, json={"bank_code": code,
                                                                            "due_through": "2026-11-30"}), 201)
    engine = stack.ledger_engine
    async with AsyncSession(engine) as session:
        rows = (await session.execute(text(
            "SELECT id, amount, receivable_id FROM ledger.debit_instruction WHERE bank_code = :b ORDER BY id"),
            {"b": code})).all()
    # One premium is paid in cash after its debit was sent: the bank's success for it cannot apply.
    agent = stack.as_user(DataScope(agent_id=p["a"]), "agent")
    receipt = ok(await stack.ledger.post("/v1/receipts", headers=agent, json={
        "receivable_id": rows[0].receivable_id, "amount": str(rows[0].amount), "method": "cash",
        "handed_over_at": "2026-11-20T02:00:00Z"}), 201)
    ok(await stack.ledger.post(f"/v1/receipts/{receipt['id']}/confirmation", headers=cashier, json={}))

    model = {r.id: InstructionState("pending", r.amount, "CNY", r.amount, r is not rows[0]) for r in rows}
    strangers = [uuid.uuid4(), uuid.uuid4()]
    rng = random.Random(7)
    seen: set[str] = set()
    for submission in range(6):
        results = []
        for n in range(1, 13):
            pick = rng.randrange(len(rows) + 1)
            instruction = rows[pick].id if pick < len(rows) else rng.choice(strangers)
            amount = rows[pick].amount if pick < len(rows) else Decimal("50")
            if rng.random() < 0.15:
                amount += 1
            outcome = "success" if rng.random() < 0.6 else "failure"
            results.append(Result(n, instruction, f"R{rng.randrange(3)}", date(2026, 11, 30), amount, "CNY",
                                  outcome, None if outcome == "success" else "insufficient_funds"))
        expected = [classify(r, model.get(r.instruction_id)) for r in results]  # type: ignore[arg-type]
        async with AsyncSession(engine) as session:
            applied = await bank.apply_results(session, code, results, actor="test")
            await session.commit()
        assert applied.dispositions == expected, f"submission {submission}"
        seen.update(expected)
    assert seen == {"applied", "failed", "duplicate", "amount_mismatch", "conflicting_result", "already_paid",
                    "unknown_instruction"}  # every rule was exercised
    async with AsyncSession(engine) as session:
        statuses = dict((await session.execute(text(
            "SELECT id, status FROM ledger.debit_instruction WHERE bank_code = :b"), {"b": code})).all())
    assert statuses == {i: s.status for i, s in model.items()}
    assert ok(await stack.ledger.get("/v1/journal/trial-balance"))["balanced"] is True
