"""Receipts 交款 in the agent's business ledger 业务台帐 (seed 000 第十五条): the agent records money
handed over, in their own ledger only; a cashier confirms it once, attributably, and only then does
it post (Dr cash / Cr premium receivable) and reduce what the customer owes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledger_service import journal, receivables
from ledger_service.models import PLATFORM_TABLES, Receipt, Receivable
from ledger_service.postings import Line
from svckit.errors import Conflict, Forbidden, NotFound
from svckit.outbox import append_event
from svckit.timeutil import business_date

CASH_ACCOUNTS = {"cash": "cash", "cheque": "bank", "transfer": "bank", "pos": "bank"}


async def receivable(session: AsyncSession, receivable_id: int, *, lock: bool = False) -> Receivable:
    query = select(Receivable).where(Receivable.id == receivable_id)
    found = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"receivable {receivable_id} does not exist", code="receivable_not_found",
                       field="receivable_id")
    return found


async def record(session: AsyncSession, *, agent_id: int | None, receivable_id: int, amount: Decimal, currency: str,
                 method: str, handed_over_at: datetime, note: str, actor: str) -> Receipt:
    """Only the receivable's own agent records into their business ledger; nobody keeps it for them."""
    due = await receivable(session, receivable_id)
    if agent_id is None or due.agent_id != agent_id:
        raise Forbidden("a receipt is recorded by the agent whose business ledger it is",
                        code="not_your_business_ledger", field="receivable_id")
    _payable(due, amount, currency)
    receipt = Receipt(branch_id=due.branch_id, receivable_id=due.id, policy_id=due.policy_id, agent_id=due.agent_id,
                      customer_id=due.customer_id, currency=currency, amount=amount, method=method,
                      handed_over_at=handed_over_at, note=note, recorded_by=actor)
    session.add(receipt)
    await session.flush()
    return receipt


def _payable(due: Receivable, amount: Decimal, currency: str) -> None:
    if due.status != "open":
        raise Conflict(f"receivable {due.id} is {due.status}", code="receivable_not_open", field="receivable_id")
    if currency != due.currency:
        raise Conflict(f"receivable {due.id} is in {due.currency}", code="currency_mismatch", field="currency")
    if amount > due.amount - due.received:
        raise Conflict(f"{amount} exceeds the {due.amount - due.received} outstanding on receivable {due.id}",
                       code="exceeds_outstanding", field="amount")


async def get(session: AsyncSession, receipt_id: int) -> Receipt:
    found = await session.get(Receipt, receipt_id)
    if found is None:
        raise NotFound(f"receipt {receipt_id} does not exist", code="receipt_not_found", field="receipt_id")
    return found


async def _decide(session: AsyncSession, receipt_id: int, status: str, actor: str, note: str,
                  entry_id: int | None = None) -> None:
    decided = (await session.execute(
        update(Receipt).where(Receipt.id == receipt_id, Receipt.status == "recorded")
        .values(status=status, decided_by=actor, decided_at=text("now()"), decision_note=note, entry_id=entry_id)
        .returning(Receipt.id))).scalar()
    if decided is None:
        raise Conflict(f"receipt {receipt_id} has already been decided", code="receipt_already_decided",
                       field="receipt_id")


async def confirm(session: AsyncSession, receipt_id: int, *, actor: str, note: str) -> Receipt:
    """The cashier's confirmation: once, and the money posts."""
    receipt = await get(session, receipt_id)
    if receipt.status != "recorded":
        raise Conflict(f"receipt {receipt_id} has already been {receipt.status}", code="receipt_already_decided",
                       field="receipt_id")
    due = await receivable(session, receipt.receivable_id, lock=True)
    _payable(due, receipt.amount, receipt.currency)
    dims = {"agent_id": due.agent_id, "policy_id": due.policy_id, "customer_id": due.customer_id,
            "receivable_id": due.id}
    handed_over_on = business_date(receipt.handed_over_at)  # the Tianjin day, not the UTC one
    posted = await journal.post(
        session, branch_id=receipt.branch_id, kind="receipt", effective_on=handed_over_on, actor=actor,
        description=f"receipt {receipt.id} confirmed ({receipt.method})", source=f"receipt:{receipt.id}", lines=[
            Line(CASH_ACCOUNTS[receipt.method], "debit", receipt.amount, receipt.currency, **dims),
            Line("premium_receivable", "credit", receipt.amount, receipt.currency, **dims)])
    if posted is None:
        raise Conflict(f"receipt {receipt_id} has already been posted", code="receipt_already_decided",
                       field="receipt_id")
    await _decide(session, receipt_id, "confirmed", actor, note, posted.entry_id)
    await receivables.settle_part(session, due, receipt.amount)
    await premium_received(session, due, receipt.amount, via="receipt", reference=str(receipt.id),
                           entry_id=posted.entry_id, received_on=handed_over_on)
    await session.refresh(receipt)
    return receipt


async def reject(session: AsyncSession, receipt_id: int, *, actor: str, note: str) -> Receipt:
    await _decide(session, receipt_id, "rejected", actor, note)
    receipt = await get(session, receipt_id)
    await session.refresh(receipt)
    return receipt


async def premium_received(session: AsyncSession, due: Receivable, amount: Decimal, *, via: str, reference: str,
                           entry_id: int, received_on: date) -> None:
    """Tell performance that premium was received (only received premium counts for commission).
    `received_on` is the entry's effective date: the month the premium counts in, however late it is
    confirmed."""
    payload: dict[str, Any] = {"received_on": received_on.isoformat(),
        "receivable_id": due.id, "policy_id": due.policy_id, "installment_no": due.installment_no,
        "agent_id": due.agent_id, "institution_id": due.institution_id, "branch_id": due.branch_id,
        "amount": amount, "currency": due.currency, "via": via, "reference": reference, "entry_id": entry_id,
        "settled": due.status == "settled"}
    await append_event(session, PLATFORM_TABLES, event_type="premium.received", aggregate_type="receivable",
                       aggregate_id=str(due.id), payload=payload)
