"""Receipts in the agent's business ledger 业务台帐, the cashier's confirmation, and the running
account of a customer 往来台帐."""

from __future__ import annotations

from sqlalchemy import select, text

from ledger_service import access, receipts
from ledger_service.api.deps import FinanceOnly, PageDep, ScopeDep, actor_of
from ledger_service.api.journal import require_customer
from ledger_service.models import Receipt, Receivable
from ledger_service.schemas import ReceiptCreate, ReceiptDecision, ReceiptRead, RunningLine
from svckit.idempotency import IdempotencyDep
from svckit.internal_auth import CallerDep
from svckit.pagination import Page, decode_int_cursor, encode_cursor, keyset, page_of
from svckit.routing import SessionDep, service_router
from svckit.scope import DataScope

router = service_router(prefix="/v1", tags=["receipts"])


async def _visible(session: SessionDep, scope: DataScope, receipt_id: int) -> Receipt:
    found = await receipts.get(session, receipt_id)
    due = await receipts.receivable(session, found.receivable_id)
    await access.require(session, scope, agent_id=found.agent_id, institution_id=due.institution_id, what="receipt",
                         object_id=receipt_id, field="receipt_id")
    return found


@router.post("/receipts", response_model=ReceiptRead, status_code=201)
async def record_receipt(body: ReceiptCreate, session: SessionDep, caller: CallerDep, scope: ScopeDep,
                         _: IdempotencyDep) -> Receipt:
    """The agent records money handed over for one of their receivables; it waits for the cashier."""
    due = await receipts.receivable(session, body.receivable_id)
    await access.require(session, scope, agent_id=due.agent_id, institution_id=due.institution_id,
                         what="receivable", object_id=due.id, field="receivable_id")
    return await receipts.record(session, agent_id=scope.agent_id, actor=actor_of(caller), **body.model_dump())


@router.get("/receipts", response_model=Page[ReceiptRead])
async def list_receipts(session: SessionDep, scope: ScopeDep, page: PageDep, agent_id: int | None = None,
                        status: str | None = None) -> Page[ReceiptRead]:
    """Receipts the caller may see, newest first: an agent's business ledger, or a cashier's queue
    (`status=recorded`)."""
    query = select(Receipt).join(Receivable, (Receivable.id == Receipt.receivable_id)
                                 & (Receivable.branch_id == Receipt.branch_id)).where(
        access.condition(scope, Receipt.agent_id, Receivable.institution_id))
    if agent_id is not None:
        query = query.where(Receipt.agent_id == agent_id)
    if status is not None:
        query = query.where(Receipt.status == status)
    rows = (await session.execute(keyset(query, [Receipt.id.expression], page, descending=True))).scalars().all()
    items, cursor = page_of(rows, page, lambda r: [r.id])
    return Page(items=[ReceiptRead.model_validate(r) for r in items], next_cursor=cursor)


@router.get("/receipts/{receipt_id}", response_model=ReceiptRead)
async def read_receipt(receipt_id: int, session: SessionDep, scope: ScopeDep) -> Receipt:
    """One receipt."""
    return await _visible(session, scope, receipt_id)


@router.post("/receipts/{receipt_id}/confirmation", response_model=ReceiptRead, dependencies=[FinanceOnly])
async def confirm_receipt(receipt_id: int, body: ReceiptDecision, session: SessionDep, caller: CallerDep,
                          scope: ScopeDep) -> Receipt:
    """The cashier confirms the money was received: once; it posts to cash and reduces what is owed."""
    await _visible(session, scope, receipt_id)
    return await receipts.confirm(session, receipt_id, actor=actor_of(caller), note=body.note)


@router.post("/receipts/{receipt_id}/rejection", response_model=ReceiptRead, dependencies=[FinanceOnly])
async def reject_receipt(receipt_id: int, body: ReceiptDecision, session: SessionDep, caller: CallerDep,
                         scope: ScopeDep) -> Receipt:
    """The cashier did not receive the money; nothing posts."""
    await _visible(session, scope, receipt_id)
    return await receipts.reject(session, receipt_id, actor=actor_of(caller), note=body.note)


@router.get("/customers/{customer_id}/running-account", response_model=Page[RunningLine])
async def running_account(customer_id: int, session: SessionDep, scope: ScopeDep, page: PageDep,
                          ) -> Page[RunningLine]:
    """The customer's running account 往来台帐: each premium charged and each payment, with what is
    still owed after it, oldest first."""
    await require_customer(session, scope, customer_id)
    after = decode_int_cursor(page.cursor, 2) if page.cursor is not None else [0, 0]
    rows = (await session.execute(text(
        "SELECT * FROM (SELECT p.posted_at, p.entry_id, p.line_no, e.kind, e.description, p.policy_id,"
        "   p.receivable_id, p.currency, greatest(p.amount, 0) AS charged, greatest(-p.amount, 0) AS paid,"
        "   sum(p.amount) OVER (PARTITION BY p.currency ORDER BY p.entry_id, p.line_no) AS balance"
        "  FROM ledger.journal_posting p JOIN ledger.journal_entry e ON e.branch_id = p.branch_id"
        "   AND e.id = p.entry_id"
        "  WHERE p.customer_id = :c AND p.account = 'premium_receivable') t"
        " WHERE (entry_id, line_no) > (:e, :l) ORDER BY entry_id, line_no LIMIT :n"),
        {"c": customer_id, "e": after[0], "l": after[1], "n": page.limit + 1})).all()
    items = rows[:page.limit]
    cursor = encode_cursor([items[-1].entry_id, items[-1].line_no]) if len(rows) > page.limit else None
    return Page(items=[RunningLine.model_validate(dict(r._mapping)) for r in items], next_cursor=cursor)
