"""Partner-bank auto-debit 银行代扣: batches of debit instructions for due premiums, the bank's
results (by API or in its daily reconciliation file) applied exactly once, and the exceptions finance
resolves. Results may come twice, late or out of order; each message is kept, classified against
its instruction (bank_rules.classify) and takes effect once. Money the bank reports that matches
no premium is booked to the branch's suspense account, never lost and never posted twice."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger_service import journal, receivables, reconcile
from ledger_service.bank_rules import (
    MAX_ERRORS_LISTED,
    LineError,
    Result,
)
from ledger_service.models import (
    PLATFORM_TABLES,
    BankAccount,
    BankException,
    DebitBatch,
    Receivable,
    ReconciliationFile,
    ReconciliationFilePart,
)
from ledger_service.postings import Line
from svckit.errors import Conflict, NotFound, Unprocessable
from svckit.outbox import NewEvent, append_events


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


async def unknown_instructions(session: AsyncSession, bank_code: str, ids: list[UUID]) -> set[UUID]:
    known = (await session.execute(text(
        "SELECT id FROM ledger.debit_instruction WHERE bank_code = :b AND id = ANY(CAST(:ids AS uuid[]))"),
        {"b": bank_code, "ids": ids})).scalars().all()
    return set(ids) - set(known)


async def _serialised(session: AsyncSession, bank_code: str) -> BankAccount:
    """One submission of a bank at a time: its results are judged against what the one before did."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('ledger.bank:' || :b))"), {"b": bank_code})
    return await account(session, bank_code)


async def apply_results(session: AsyncSession, bank_code: str, results: list[Result], *,
                        actor: str) -> reconcile.Applied:
    """Apply results sent by API, in order (reconcile.py; the rules are bank_rules.classify)."""
    bank = await _serialised(session, bank_code)
    await reconcile.stage_results(session, results)
    return await reconcile.apply_staged(session, bank_code=bank_code, branch_id=bank.branch_id, file_id=None,
                                        actor=actor)


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class FileJob:
    """How a reconciliation file is applied: in up to `parts` transactions at once (one per
    `part_min_lines` lines), each with a batch job's limits rather than a request's."""

    sessions: async_sessionmaker[AsyncSession]
    parts: int
    part_min_lines: int
    timeout_s: int
    work_mem_mb: int

    def parts_for(self, content: bytes) -> int:
        return max(1, min(self.parts, content.count(b"\n") // self.part_min_lines))

    async def limits(self, session: AsyncSession) -> None:
        # A million lines take longer than a request may, and sort more than a request does: for
        # this transaction only.
        await session.execute(text(f"SET LOCAL statement_timeout = '{int(self.timeout_s)}s'"))
        await session.execute(text(f"SET LOCAL work_mem = '{int(self.work_mem_mb)}MB'"))


async def ingest_file(session: AsyncSession, bank_code: str, *, file_date: date, content: bytes, actor: str,
                      job: FileJob) -> tuple[dict[str, Any], bool]:
    """Apply a reconciliation file once. A file with a broken line is refused whole, every broken line
    named, before anything is applied; the same file again answers its first report, or, if its
    application was interrupted, applies the parts that were not. Returns (report, replayed)."""
    bank = await _serialised(session, bank_code)  # held by this request's transaction until it ends
    sha = digest(content)
    earlier = (await session.execute(select(ReconciliationFile).where(
        ReconciliationFile.bank_code == bank_code, ReconciliationFile.sha256 == sha))).scalar_one_or_none()
    if earlier is not None and earlier.status == "applied":
        return earlier.report, True
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        raise Unprocessable("the file is not UTF-8 text", code="reconciliation_file_invalid", field="body",
                            errors=[]) from None
    of = earlier.parts if earlier is not None else job.parts_for(content)
    done = set() if earlier is None else set((await session.execute(
        select(ReconciliationFilePart.part).where(ReconciliationFilePart.file_id == earlier.id))).scalars())
    todo = [reconcile.Part(k, of) for k in range(of) if k not in done]
    async with AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(job.sessions()) for _ in todo]
        staged = await asyncio.gather(*(_stage_part(s, job, content, part)
                                        for s, part in zip(sessions, todo, strict=True)))
        errors = sorted({(e.line, e.field): e for _, found in staged for e in found}.values(), key=lambda e: e.line)
        if errors:
            raise Unprocessable(f"{len(errors)} line(s) of the file are broken; nothing was applied",
                                code="reconciliation_file_invalid", field="body", rejected_lines=len(errors),
                                errors=[_error(e) for e in errors[:MAX_ERRORS_LISTED]])
        if earlier is None:
            earlier = await _new_file(job, bank_code, file_date, sha, sum(lines for lines, _ in staged), of)
        file_id = earlier.id
        applied = await asyncio.gather(*(
            _apply_part(s, job, part, bank_code=bank_code, branch_id=bank.branch_id, file_id=file_id, actor=actor)
            for s, part in zip(sessions, todo, strict=True)), return_exceptions=True)
    failed = [a for a in applied if isinstance(a, BaseException)]
    if failed:
        # The parts that did commit stay applied (and are recorded): sending the file again applies the rest.
        raise failed[0]
    reports = (await session.execute(select(ReconciliationFilePart.report).where(
        ReconciliationFilePart.file_id == file_id))).scalars().all()
    body = {"file_id": file_id, "file_date": earlier.file_date.isoformat(), "lines": earlier.lines,
            **_sum_reports(reports)}
    await session.execute(update(ReconciliationFile).where(ReconciliationFile.id == file_id)
                          .values(report=body, status="applied"))
    return body, False


async def _stage_part(session: AsyncSession, job: FileJob, content: bytes,
                      part: reconcile.Part) -> tuple[int, list[LineError]]:
    await job.limits(session)
    return await reconcile.stage_file(session, content, part)


async def _new_file(job: FileJob, bank_code: str, file_date: date, sha: str, lines: int,
                    parts: int) -> ReconciliationFile:
    """The file's record, committed before any part is: each part names it, and a file interrupted
    between its parts is known to be `applying`."""
    async with job.sessions() as session:
        found = (await session.execute(insert(ReconciliationFile).values(
            bank_code=bank_code, file_date=file_date, sha256=sha, lines=lines, report={}, status="applying",
            parts=parts).returning(ReconciliationFile))).scalar_one()
        await session.commit()
    return found


async def _apply_part(session: AsyncSession, job: FileJob, part: reconcile.Part, *, bank_code: str,
                      branch_id: int, file_id: int, actor: str) -> None:
    applied = await reconcile.apply_staged(session, bank_code=bank_code, branch_id=branch_id, file_id=file_id,
                                           actor=actor)
    # The part's record commits with its effects: a part is applied once, or not at all.
    await session.execute(insert(ReconciliationFilePart).values(file_id=file_id, part=part.index,
                                                                report=applied.report))
    await session.commit()


def _sum_reports(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for report in reports:
        for key, value in report.items():
            if key.endswith("amount"):
                total[key] = str(Decimal(total.get(key, "0")) + Decimal(value))
            else:
                total[key] = total.get(key, 0) + value
    return total


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
        "entry_id": posted.entry_id, "received_on": on.isoformat()})])
    return posted.entry_id
