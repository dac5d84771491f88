"""Partner-bank auto-debit 银行代扣: batches of debit instructions for due premiums, the bank's
results (by API or in its daily reconciliation file) applied exactly once, and the exceptions finance
resolves. Results may come twice, late or out of order; each message is kept, classified against
its instruction (bank_rules.classify) and takes effect once. Money the bank reports that matches
no premium is booked to the branch's suspense account, never lost and never posted twice."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledger_service import journal, receivables
from ledger_service.bank_rules import (
    APPLIED,
    EXCEPTIONS,
    FAILED,
    MAX_ERRORS_LISTED,
    InstructionState,
    LineError,
    Result,
    classify,
    moves_money,
    parse_reconciliation,
)
from ledger_service.models import (
    PLATFORM_TABLES,
    BankAccount,
    BankException,
    DebitBatch,
    Receivable,
    ReconciliationFile,
)
from ledger_service.postings import Line
from svckit.errors import Conflict, NotFound, Unprocessable
from svckit.outbox import NewEvent, append_events

CHUNK = 20_000
# Every message kept, a chunk in one statement; the ids come back by line number.
STORE_RESULTS = text(
    "INSERT INTO ledger.bank_result (bank_code, file_id, instruction_id, outcome, amount, currency, reason_code,"
    "  bank_reference, value_date, line_no, disposition)"
    " SELECT :bank, :file, * FROM unnest(CAST(:ids AS uuid[]), CAST(:outcomes AS text[]),"
    "  CAST(:amounts AS numeric[]), CAST(:currencies AS text[]), CAST(:reasons AS text[]), CAST(:refs AS text[]),"
    "  CAST(:dates AS date[]), CAST(:lines AS integer[]), CAST(:dispositions AS text[]))"
    " RETURNING line_no, id"
)


async def set_account(session: AsyncSession, *, bank_code: str, name: str, branch_id: int, currency: str,
                      actor: str) -> BankAccount:
    statement = insert(BankAccount).values(bank_code=bank_code, name=name, branch_id=branch_id, currency=currency,
                                           updated_by=actor)
    await session.execute(statement.on_conflict_do_update(index_elements=[BankAccount.bank_code], set_={
        "name": name, "branch_id": branch_id, "currency": currency, "updated_by": actor,
        "updated_at": statement.excluded.updated_at}))
    return await account(session, bank_code)


async def account(session: AsyncSession, bank_code: str) -> BankAccount:
    found = (await session.execute(select(BankAccount).where(BankAccount.bank_code == bank_code)
                                   .execution_options(populate_existing=True))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no collection account for bank {bank_code!r}", code="bank_account_unknown",
                       field="bank_code")
    return found


async def create_batch(session: AsyncSession, *, bank_code: str, due_through: date, actor: str) -> DebitBatch:
    """Instructions for every open premium of the account's branch, due by `due_through`, on a policy
    paid by auto-debit with a mandate, and not already being debited."""
    bank = await account(session, bank_code)
    batch = DebitBatch(bank_code=bank_code, due_through=due_through, instructions=0, total=0,
                       currency=bank.currency, created_by=actor)
    session.add(batch)
    await session.flush()
    totals = (await session.execute(text(
        "WITH due AS ("
        "  SELECT r.branch_id, r.id, r.policy_id, r.agent_id, r.institution_id, r.customer_id, p.mandate_ref,"
        "    r.amount - r.received AS outstanding, r.currency"
        "  FROM ledger.receivable r JOIN ledger.policy p ON p.id = r.policy_id"
        "  WHERE r.branch_id = :branch AND r.status = 'open' AND r.due_on <= :through AND r.currency = :currency"
        "    AND p.payment_mode = 'bank_debit' AND p.mandate_ref IS NOT NULL AND p.status = 'in_force'"
        "    AND NOT EXISTS (SELECT 1 FROM ledger.debit_instruction i"
        "                    WHERE i.receivable_id = r.id AND i.status = 'pending')"
        "  ORDER BY r.id FOR UPDATE OF r),"
        " made AS ("
        "  INSERT INTO ledger.debit_instruction (id, batch_id, bank_code, branch_id, receivable_id, policy_id,"
        "    agent_id, institution_id, customer_id, mandate_ref, amount, currency)"
        "  SELECT gen_random_uuid(), :batch, :bank, branch_id, id, policy_id, agent_id, institution_id,"
        "    customer_id, mandate_ref, outstanding, currency FROM due RETURNING amount)"
        " SELECT count(*) AS n, coalesce(sum(amount), 0) AS total FROM made"
    ), {"branch": bank.branch_id, "through": due_through, "currency": bank.currency, "batch": batch.id,
        "bank": bank_code})).one()
    await session.execute(update(DebitBatch).where(DebitBatch.id == batch.id)
                          .values(instructions=totals.n, total=totals.total))
    await session.refresh(batch)
    return batch


async def batch_of(session: AsyncSession, batch_id: int, bank_code: str | None = None) -> DebitBatch:
    found = await session.get(DebitBatch, batch_id)
    if found is None or (bank_code is not None and found.bank_code != bank_code):
        raise NotFound(f"debit batch {batch_id} does not exist", code="batch_not_found", field="batch_id")
    return found


async def acknowledge(session: AsyncSession, batch_id: int, bank_code: str) -> DebitBatch:
    batch = await batch_of(session, batch_id, bank_code)
    await session.execute(update(DebitBatch).where(DebitBatch.id == batch_id, DebitBatch.status == "ready")
                          .values(status="acknowledged", acknowledged_at=text("now()")))
    await session.refresh(batch)
    return batch


@dataclass
class Report:
    results: int = 0
    applied: int = 0
    failed: int = 0
    duplicates: int = 0
    exceptions: int = 0
    applied_amount: Decimal = Decimal(0)
    suspense_amount: Decimal = Decimal(0)

    def count(self, disposition: str, result: Result) -> None:
        self.results += 1
        if disposition == APPLIED:
            self.applied += 1
            self.applied_amount += result.amount
        elif disposition == FAILED:
            self.failed += 1
        elif disposition in EXCEPTIONS:
            self.exceptions += 1
            if moves_money(result, disposition):
                self.suspense_amount += result.amount
        else:
            self.duplicates += 1

    def as_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in self.__dict__.items()}


async def unknown_instructions(session: AsyncSession, bank_code: str, ids: list[UUID]) -> set[UUID]:
    known = (await session.execute(text(
        "SELECT id FROM ledger.debit_instruction WHERE bank_code = :b AND id = ANY(CAST(:ids AS uuid[]))"),
        {"b": bank_code, "ids": ids})).scalars().all()
    return set(ids) - set(known)


async def apply_results(session: AsyncSession, bank_code: str, results: list[Result], *, file_id: int | None,
                        actor: str) -> tuple[Report, list[str]]:
    """Apply results in order; returns the report and each result's disposition."""
    bank = await account(session, bank_code)
    report, dispositions = Report(), []
    for start in range(0, len(results), CHUNK):
        chunk = results[start:start + CHUNK]
        done = await _apply_chunk(session, bank, chunk, file_id=file_id, actor=actor)
        for result, disposition in zip(chunk, done, strict=True):
            report.count(disposition, result)
        dispositions += done
    return report, dispositions


@dataclass(frozen=True)
class _Known:
    state: InstructionState
    branch_id: int
    receivable_id: int
    policy_id: int
    agent_id: int
    institution_id: int
    customer_id: int


async def _known(session: AsyncSession, bank_code: str, ids: list[UUID]) -> dict[UUID, _Known]:
    rows = (await session.execute(text(
        "SELECT i.id, i.status, i.amount, i.currency, i.branch_id, i.receivable_id, i.policy_id, i.agent_id,"
        "  i.institution_id, i.customer_id, r.amount - r.received AS outstanding, r.status = 'open' AS open"
        " FROM ledger.debit_instruction i"
        " JOIN ledger.receivable r ON r.branch_id = i.branch_id AND r.id = i.receivable_id"
        " WHERE i.bank_code = :b AND i.id = ANY(CAST(:ids AS uuid[])) ORDER BY i.id FOR UPDATE OF i, r"),
        {"b": bank_code, "ids": ids})).all()
    known = {r.id: _Known(InstructionState(r.status, r.amount, r.currency, r.outstanding, r.open), r.branch_id,
                          r.receivable_id, r.policy_id, r.agent_id, r.institution_id, r.customer_id) for r in rows}
    seen = (await session.execute(text(
        "SELECT instruction_id, bank_reference, outcome, amount, currency FROM ledger.bank_result"
        " WHERE instruction_id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids})).all()
    for s in seen:
        known[s.instruction_id].state.seen.add(tuple(s))
    return known


async def _apply_chunk(session: AsyncSession, bank: BankAccount, chunk: list[Result], *, file_id: int | None,
                       actor: str) -> list[str]:
    ids = sorted({r.instruction_id for r in chunk if r.instruction_id is not None})
    known = await _known(session, bank.bank_code, ids)
    dispositions = [classify(r, known[r.instruction_id].state if r.instruction_id in known else None)
                    for r in chunk]
    stored = (await session.execute(STORE_RESULTS, {
        "bank": bank.bank_code, "file": file_id, "ids": [r.instruction_id for r in chunk],
        "outcomes": [r.outcome for r in chunk], "amounts": [r.amount for r in chunk],
        "currencies": [r.currency for r in chunk], "reasons": [r.reason_code for r in chunk],
        "refs": [r.bank_reference for r in chunk], "dates": [r.value_date for r in chunk],
        "lines": [r.line_no for r in chunk], "dispositions": dispositions})).all()
    # Line numbers are unique within one request or file.
    result_ids: dict[int, int] = {row.line_no: row.id for row in stored}

    # What each result books: the premium received, or money held in suspense.
    entries: list[journal.NewEntry] = []
    booked: list[int] = []  # the chunk position of each entry
    for n, (result, disposition) in enumerate(zip(chunk, dispositions, strict=True)):
        it = known.get(result.instruction_id) if result.instruction_id is not None else None
        source = f"bank_result:{result_ids[result.line_no]}"
        if disposition == APPLIED and it is not None:
            dims = {"agent_id": it.agent_id, "policy_id": it.policy_id, "customer_id": it.customer_id,
                    "receivable_id": it.receivable_id}
            entries.append(journal.NewEntry(
                it.branch_id, "bank_debit", f"auto-debit {result.bank_reference} ({bank.bank_code})",
                result.value_date, [Line("bank", "debit", result.amount, result.currency, **dims),
                                    Line("premium_receivable", "credit", result.amount, result.currency, **dims)],
                source))
            booked.append(n)
        elif disposition in EXCEPTIONS and moves_money(result, disposition):
            entries.append(journal.NewEntry(
                it.branch_id if it is not None else bank.branch_id, "suspense",
                f"{disposition}: {result.bank_reference} ({bank.bank_code}) held in suspense", result.value_date,
                [Line("bank", "debit", result.amount, result.currency),
                 Line("suspense", "credit", result.amount, result.currency)], source))
            booked.append(n)
    posted = await journal.post_many(session, entries, actor=actor)
    entry_of: dict[int, int] = {}
    for n, made in zip(booked, posted, strict=True):
        assert made is not None  # each result's own source, new in this transaction
        entry_of[n] = made.entry_id

    instruction_updates: list[dict[str, Any]] = []
    paid: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    events: list[NewEvent] = []
    held: list[dict[str, Any]] = []
    for n, (result, disposition) in enumerate(zip(chunk, dispositions, strict=True)):
        it = known.get(result.instruction_id) if result.instruction_id is not None else None
        if disposition == APPLIED and it is not None:
            instruction_updates.append({"id": result.instruction_id, "status": "succeeded", "entry": entry_of[n],
                                        "reason": None, "reference": result.bank_reference})
            paid[(it.branch_id, it.receivable_id)] += result.amount
            events.append(NewEvent("premium.received", "receivable", str(it.receivable_id), {
                "receivable_id": it.receivable_id, "policy_id": it.policy_id, "agent_id": it.agent_id,
                "institution_id": it.institution_id, "branch_id": it.branch_id, "amount": result.amount,
                "currency": result.currency, "via": "bank_debit", "reference": result.bank_reference,
                "entry_id": entry_of[n]}))
        elif disposition == FAILED and it is not None:
            instruction_updates.append({"id": result.instruction_id, "status": "failed", "entry": None,
                                        "reason": result.reason_code, "reference": result.bank_reference})
            events.append(NewEvent("debit.failed", "receivable", str(it.receivable_id), {
                "receivable_id": it.receivable_id, "policy_id": it.policy_id, "agent_id": it.agent_id,
                "reason_code": result.reason_code, "amount": result.amount, "currency": result.currency}))
        elif disposition in EXCEPTIONS:
            if it is not None and it.state.status == "exception":
                instruction_updates.append({"id": result.instruction_id, "status": "exception", "entry": None,
                                            "reason": None, "reference": result.bank_reference})
            held.append({"bank_code": bank.bank_code, "branch_id": it.branch_id if it is not None else bank.branch_id,
                         "kind": disposition, "instruction_id": result.instruction_id,
                         "result_id": result_ids[result.line_no], "amount": result.amount,
                         "currency": result.currency, "in_suspense": n in entry_of,
                         "suspense_entry_id": entry_of.get(n), "detail": EXCEPTION_DETAIL[disposition]})
    await _update_instructions(session, instruction_updates)
    await _settle(session, paid)
    if held:
        await session.execute(insert(BankException), held)
    await append_events(session, PLATFORM_TABLES, events)
    return dispositions


EXCEPTION_DETAIL = {
    "unknown_instruction": "the bank reported a result for no instruction of ours",
    "amount_mismatch": "the amount or currency differs from the instruction",
    "conflicting_result": "the bank had already answered this instruction differently",
    "already_paid": "the premium had been paid (or ended) before the debit arrived",
}


async def _update_instructions(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    await session.execute(text(
        "UPDATE ledger.debit_instruction i SET status = u.status, entry_id = coalesce(u.entry, i.entry_id),"
        "  reason_code = coalesce(u.reason, i.reason_code), bank_reference = u.reference, result_at = now()"
        " FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:entries AS bigint[]),"
        "   CAST(:reasons AS text[]), CAST(:refs AS text[])) AS u(id, status, entry, reason, reference)"
        " WHERE i.id = u.id"), {
        "ids": [r["id"] for r in rows], "statuses": [r["status"] for r in rows], "entries": [r["entry"] for r in rows],
        "reasons": [r["reason"] for r in rows], "refs": [r["reference"] for r in rows]})


async def _settle(session: AsyncSession, paid: dict[tuple[int, int], Decimal]) -> None:
    if not paid:
        return
    keys = sorted(paid)
    await session.execute(text(
        "UPDATE ledger.receivable r SET received = r.received + u.amount,"
        "  status = CASE WHEN r.received + u.amount = r.amount THEN 'settled' ELSE r.status END,"
        "  settled_at = CASE WHEN r.received + u.amount = r.amount THEN now() ELSE r.settled_at END"
        " FROM unnest(CAST(:branches AS bigint[]), CAST(:ids AS bigint[]), CAST(:amounts AS numeric[]))"
        "   AS u(branch_id, id, amount)"
        " WHERE r.branch_id = u.branch_id AND r.id = u.id"),
        {"branches": [k[0] for k in keys], "ids": [k[1] for k in keys], "amounts": [paid[k] for k in keys]})


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


async def ingest_file(session: AsyncSession, bank_code: str, *, file_date: date, content: bytes,
                      actor: str) -> tuple[dict[str, Any], bool]:
    """Apply a reconciliation file once. A file with a broken line is refused whole, every broken line
    named; the same file again answers its first report. Returns (report, replayed)."""
    await account(session, bank_code)
    sha = digest(content)
    earlier = (await session.execute(select(ReconciliationFile.report).where(
        ReconciliationFile.bank_code == bank_code, ReconciliationFile.sha256 == sha))).scalar()
    if earlier is not None:
        return earlier, True
    try:
        decoded = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable("the file is not UTF-8 text", code="reconciliation_file_invalid", field="body",
                            errors=[]) from None
    results, errors = parse_reconciliation(decoded)
    if errors:
        raise Unprocessable(f"{len(errors)} line(s) of the file are broken; nothing was applied",
                            code="reconciliation_file_invalid", field="body", rejected_lines=len(errors),
                            errors=[_error(e) for e in errors[:MAX_ERRORS_LISTED]])
    claimed = (await session.execute(insert(ReconciliationFile).values(
        bank_code=bank_code, file_date=file_date, sha256=sha, lines=len(results), report={})
        .on_conflict_do_nothing().returning(ReconciliationFile.id))).scalar()
    if claimed is None:  # the same file, sent concurrently, was recorded first by the other request
        raise Conflict("this file is being applied by another request; send it again to read its report",
                       code="reconciliation_file_in_progress")
    report, _ = await apply_results(session, bank_code, results, file_id=claimed, actor=actor)
    body = {"file_id": claimed, "file_date": file_date.isoformat(), "lines": len(results), **report.as_dict()}
    await session.execute(update(ReconciliationFile).where(ReconciliationFile.id == claimed).values(report=body))
    return body, False


def _error(error: LineError) -> dict[str, Any]:
    return {"line": error.line, "field": error.field, "message": error.message}


async def exception_of(session: AsyncSession, exception_id: int) -> BankException:
    found = await session.get(BankException, exception_id)
    if found is None:
        raise NotFound(f"bank exception {exception_id} does not exist", code="exception_not_found",
                       field="exception_id")
    return found


async def resolve(session: AsyncSession, exception_id: int, *, how: str, receivable_id: int | None, note: str,
                  on: date, actor: str) -> BankException:
    """Finance settles an exception, once: money in suspense is applied to a premium or refunded;
    an exception without money is closed with a note."""
    found = await exception_of(session, exception_id)
    if found.status != "open":
        raise Conflict(f"exception {exception_id} was resolved by {found.resolved_by}",
                       code="exception_already_resolved", field="exception_id")
    if (how == "dismiss") == found.in_suspense:
        raise Conflict("money held in suspense is applied or refunded; only an exception without money is dismissed",
                       code="resolution_not_allowed", field="how")
    entry_id = None
    if how == "apply_to_receivable":
        entry_id = await _apply_suspense(session, found, receivable_id, on, actor)
    elif how == "refund":
        posted = await journal.post(
            session, branch_id=found.branch_id, kind="suspense_refund", effective_on=on, actor=actor,
            description=f"refund of bank exception {found.id}: {note}", source=f"exception:{found.id}", lines=[
                Line("suspense", "debit", found.amount, found.currency),
                Line("bank", "credit", found.amount, found.currency)])
        entry_id = posted.entry_id if posted else None
    resolved = (await session.execute(
        update(BankException).where(BankException.id == exception_id, BankException.status == "open")
        .values(status="resolved", resolution=how, resolution_note=note, resolution_entry_id=entry_id,
                resolved_by=actor, resolved_at=text("now()")).returning(BankException.id))).scalar()
    if resolved is None:
        raise Conflict(f"exception {exception_id} was resolved meanwhile", code="exception_already_resolved",
                       field="exception_id")
    await session.refresh(found)
    return found


async def _apply_suspense(session: AsyncSession, found: BankException, receivable_id: int | None, on: date,
                          actor: str) -> int:
    if receivable_id is None:
        raise Unprocessable("name the receivable the money pays", code="receivable_required", field="receivable_id")
    due = (await session.execute(select(Receivable).where(Receivable.id == receivable_id).with_for_update())
           ).scalar_one_or_none()
    if due is None:
        raise Unprocessable(f"receivable {receivable_id} does not exist", code="receivable_not_found",
                            field="receivable_id")
    if due.branch_id != found.branch_id:
        raise Conflict("the money is in another branch's suspense", code="other_branch", field="receivable_id")
    if due.status != "open" or due.amount - due.received < found.amount or due.currency != found.currency:
        raise Conflict(f"receivable {receivable_id} does not have {found.amount} {found.currency} outstanding",
                       code="exceeds_outstanding", field="receivable_id")
    dims = {"agent_id": due.agent_id, "policy_id": due.policy_id, "customer_id": due.customer_id,
            "receivable_id": due.id}
    posted = await journal.post(
        session, branch_id=found.branch_id, kind="suspense_applied", effective_on=on, actor=actor,
        description=f"bank exception {found.id} applied to receivable {due.id}", source=f"exception:{found.id}",
        lines=[Line("suspense", "debit", found.amount, found.currency),
               Line("premium_receivable", "credit", found.amount, found.currency, **dims)])
    assert posted is not None
    await receivables.settle_part(session, due, found.amount)
    await append_events(session, PLATFORM_TABLES, [NewEvent("premium.received", "receivable", str(due.id), {
        "receivable_id": due.id, "policy_id": due.policy_id, "agent_id": due.agent_id,
        "institution_id": due.institution_id, "branch_id": due.branch_id, "amount": found.amount,
        "currency": found.currency, "via": "suspense", "reference": f"exception:{found.id}",
        "entry_id": posted.entry_id})])
    return posted.entry_id
