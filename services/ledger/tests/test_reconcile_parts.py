"""A reconciliation file is applied in parts, each its own transaction: every line about one
instruction is judged in one part, the parts together do exactly what the whole file does, and a file
interrupted between its parts is finished, not applied twice, when the bank sends it again."""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger_service import bank, reconcile
from svckit.errors import Conflict
from svckit.scope import DataScope
from svckit.testing.responses import ok, problem

from .conftest import Stack
from .test_bank import HEADER, line, upload
from .test_ledger_flow import issue, people

PARTS = 3  # as the ledger of these tests is set (conftest)


def part_of(instruction: str) -> int:
    """The part a line goes to, as reconcile.Part.copy_filter computes it."""
    return uuid.UUID(instruction).bytes[15] % PARTS


async def _fixture(stack: Stack, premiums: int) -> tuple[str, dict[str, str], list[dict[str, Any]]]:
    c, p = await people(stack)
    code = f"part{secrets.token_hex(2)}"
    cashier = stack.as_user(DataScope(institutions=frozenset({c.branch})), "finance")
    ok(await stack.ledger.put(f"/v1/bank-accounts/{code}", headers=cashier, json={"name": "x", "branch_id": c.branch}))
    for n in range(premiums):
        await issue(stack, p["a"] if n % 2 else p["b"], premium=f"{100 + n}.00", payment_mode="bank_debit",
                    mandate_ref=f"M{n}", issued_on="2026-11-02")
    ok(await stack.ledger.post("/v1/debit-batches", headers=cashier, json={"bank_code": code,
                                                                            "due_through": "2026-11-30"}), 201)
    async with AsyncSession(stack.ledger_engine) as session:
        rows = (await session.execute(text(
            "SELECT CAST(id AS text) AS id, amount, receivable_id FROM ledger.debit_instruction WHERE bank_code = :b"
            " ORDER BY id"), {"b": code})).mappings().all()
    return code, cashier, [dict(r) for r in rows]


def _file(instructions: list[dict[str, Any]]) -> str:
    """Successes for all, the first two failing, one result twice (the same part judges it a
    duplicate), an upper-case spelling of an id (same instruction, same part) and a stranger."""
    out = [HEADER]
    for n, i in enumerate(instructions):
        if n < 2:
            out.append(line(i["id"], f"B{n}", f"{i['amount']:.2f}", "failure", "insufficient_funds"))
        else:
            out.append(line(i["id"], f"B{n}", f"{i['amount']:.2f}"))
    again = instructions[2]
    out.append(line(again["id"].upper(), "B2", f"{again['amount']:.2f}"))
    out.append(line("", "X1", "10.00"))
    return "".join(out)


async def _state(stack: Stack, code: str) -> dict[str, Any]:
    async with AsyncSession(stack.ledger_engine) as session:
        file = (await session.execute(text(
            "SELECT id, status, parts FROM ledger.reconciliation_file WHERE bank_code = :b"), {"b": code})).one()
        parts = set((await session.execute(text(
            "SELECT part FROM ledger.reconciliation_file_part WHERE file_id = :f"), {"f": file.id})).scalars())
        statuses = dict((await session.execute(text(
            "SELECT CAST(id AS text), status FROM ledger.debit_instruction WHERE bank_code = :b"),
            {"b": code})).all())
        credited = dict((await session.execute(text(
            "SELECT p.receivable_id, sum(-p.amount) FROM ledger.journal_posting p"
            " JOIN ledger.debit_instruction i ON i.receivable_id = p.receivable_id AND i.bank_code = :b"
            " WHERE p.account = 'premium_receivable' AND p.amount < 0 GROUP BY 1"), {"b": code})).all())
    return {"status": file.status, "parts": file.parts, "done": parts, "statuses": statuses, "credited": credited}


async def test_a_file_in_parts_does_what_the_whole_file_does(stack: Stack) -> None:
    code, _, instructions = await _fixture(stack, 12)
    report = ok(await upload(stack, code, _file(instructions)))
    assert (report["lines"], report["results"], report["applied"], report["failed"], report["duplicates"],
            report["exceptions"]) == (14, 14, 10, 2, 1, 1)
    assert Decimal(report["applied_amount"]) == sum(i["amount"] for i in instructions[2:])
    assert Decimal(report["suspense_amount"]) == Decimal(10)
    state = await _state(stack, code)
    assert (state["status"], state["parts"], state["done"]) == ("applied", PARTS, set(range(PARTS)))
    assert state["credited"] == {i["receivable_id"]: i["amount"] for i in instructions[2:]}
    assert ok(await stack.ledger.get("/v1/journal/trial-balance"))["balanced"] is True
    assert ok(await upload(stack, code, _file(instructions))) == {**report, "replayed": True}


async def test_a_file_interrupted_between_its_parts_is_finished_when_sent_again(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, instructions = await _fixture(stack, 12)
    content = _file(instructions)
    counts: dict[int, int] = {}
    for i in instructions:
        counts[part_of(i["id"])] = counts.get(part_of(i["id"]), 0) + 1
    broken = max(counts, key=lambda k: counts[k])  # the part with the most lines fails
    apply_part = bank._apply_part

    async def failing(session: AsyncSession, job: bank.FileJob, part: reconcile.Part, **kwargs: Any) -> None:
        if part.index == broken:
            raise Conflict("the database went away", code="injected_failure")
        await apply_part(session, job, part, **kwargs)

    monkeypatch.setattr(bank, "_apply_part", failing)
    problem(await upload(stack, code, content), 409, "injected_failure")
    state = await _state(stack, code)
    assert (state["status"], state["done"]) == ("applying", set(range(PARTS)) - {broken})
    for i in instructions:
        assert (state["statuses"][i["id"]] == "pending") == (part_of(i["id"]) == broken), i

    monkeypatch.setattr(bank, "_apply_part", apply_part)
    report = ok(await upload(stack, code, content))
    assert report["replayed"] is False
    assert (report["lines"], report["applied"], report["failed"], report["duplicates"], report["exceptions"]) == (
        14, 10, 2, 1, 1)
    state = await _state(stack, code)
    assert (state["status"], state["done"]) == ("applied", set(range(PARTS)))
    assert "pending" not in state["statuses"].values()
    # Every premium the bank paid is received once: no part was applied twice.
    assert state["credited"] == {i["receivable_id"]: i["amount"] for i in instructions[2:]}
    assert ok(await stack.ledger.get("/v1/journal/trial-balance"))["balanced"] is True
    assert ok(await upload(stack, code, content))["replayed"] is True


async def test_a_broken_line_in_any_part_refuses_the_whole_file(stack: Stack) -> None:
    code, cashier, instructions = await _fixture(stack, 6)
    content = _file(instructions) + line(instructions[-1]["id"], "B99", "1.001")
    refused = problem(await upload(stack, code, content), 422, "reconciliation_file_invalid")
    assert [(e["line"], e["field"]) for e in refused["errors"]] == [(content.count("\n"), "amount")]
    async with AsyncSession(stack.ledger_engine) as session:
        assert (await session.execute(text("SELECT count(*) FROM ledger.reconciliation_file WHERE bank_code = :b"),
                                      {"b": code})).scalar() == 0
        assert set((await session.execute(text(
            "SELECT status FROM ledger.debit_instruction WHERE bank_code = :b"), {"b": code})).scalars()) == {"pending"}
    assert ok(await stack.ledger.get("/v1/bank-exceptions", headers=cashier))["items"] == []
