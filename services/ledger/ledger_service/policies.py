"""Policies 保单 and what happens to them: issued 承保 (the first premium falls due), renewed 续保 (the
next one does), lapsed, surrendered 退保 or cancelled (open premiums are written off and commission
paid within the clawback window is claimed back from the agent), and reassigned to another agent
(open premiums move with the policy, in the journal too)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledger_service import access, journal, receivables, rules
from ledger_service.models import PLATFORM_TABLES, Customer, Policy, PolicyEvent, Receivable
from ledger_service.postings import Line
from svckit.db import flush_or_refuse
from svckit.directory import branch_of
from svckit.errors import Conflict, NotFound
from svckit.outbox import append_event, plain_json
from svckit.timeutil import add_months

ENDINGS = {"lapsed": "policy.lapsed", "surrendered": "policy.surrendered", "cancelled": "policy.cancelled"}


async def customer_for(session: AsyncSession, kind: str, name: str, external_ref: str) -> int:
    """The policyholder's customer record, registered on first sight."""
    statement = insert(Customer).values(kind=kind, name=name, external_ref=external_ref)
    created = (await session.execute(statement.on_conflict_do_nothing().returning(Customer.id))).scalar()
    if created is not None:
        return int(created)
    return int((await session.execute(select(Customer.id).where(
        Customer.kind == kind, Customer.external_ref == external_ref))).scalar_one())


async def get(session: AsyncSession, policy_id: int, *, lock: bool = False) -> Policy:
    query = select(Policy).where(Policy.id == policy_id)
    policy = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if policy is None:
        raise NotFound(f"policy {policy_id} does not exist", code="policy_not_found", field="policy_id")
    return policy


async def _event(session: AsyncSession, policy: Policy, kind: str, on: date, actor: str,
                 details: dict[str, Any]) -> None:
    session.add(PolicyEvent(policy_id=policy.id, kind=kind, effective_on=on, details=plain_json(details),
                            actor=actor))
    await append_event(session, PLATFORM_TABLES, event_type=f"policy.{kind}", aggregate_type="policy",
                       aggregate_id=str(policy.id), payload={
                           "policy_id": policy.id, "policy_no": policy.policy_no, "agent_id": policy.agent_id,
                           "institution_id": policy.institution_id, "branch_id": policy.branch_id,
                           "product_code": policy.product_code, "currency": policy.currency,
                           "premium": policy.premium, "frequency": policy.frequency, "issued_on": policy.issued_on,
                           "effective_on": on, **details})


@dataclass(frozen=True)
class Booking:
    """Where a policy is booked: the servicing agent, the institution (the agent's by default) and its branch."""

    agent_id: int
    institution_id: int
    branch_id: int


async def booking(session: AsyncSession, agent_id: int, institution_id: int | None) -> Booking:
    agent = await access.active_agent(session, agent_id)
    institution = institution_id if institution_id is not None else int(agent.institution_id)
    return Booking(agent_id, institution, branch_of(await access.institution_path(session, institution)))


async def issue(session: AsyncSession, actor: str, booked: Booking, *, policy_no: str,
                policyholder: dict[str, str], product_code: str, insurer: str, premium: Decimal, currency: str,
                frequency: str, payment_mode: str, issued_on: date, mandate_ref: str | None,
                standard_premium: Decimal | None) -> Policy:
    customer_id = await customer_for(session, policyholder["kind"], policyholder["name"], policyholder["external_ref"])
    policy = Policy(policy_no=policy_no, branch_id=booked.branch_id, institution_id=booked.institution_id,
                    agent_id=booked.agent_id,
                    customer_id=customer_id, product_code=product_code, insurer=insurer, currency=currency,
                    premium=premium, frequency=frequency, payment_mode=payment_mode, issued_on=issued_on,
                    status="in_force", status_on=issued_on, mandate_ref=mandate_ref, installments_due=1)
    session.add(policy)
    await flush_or_refuse(session, Conflict(f"policy {policy_no} is already registered", code="policy_exists",
                                            field="policy_no"))
    await _event(session, policy, "issued", issued_on, actor, {
        "customer_id": customer_id, "policyholder_kind": policyholder["kind"],
        "standard_premium": standard_premium if standard_premium is not None else premium})
    await receivables.create(session, policy, installment_no=1, due_on=issued_on, amount=premium,
                             policyholder_kind=policyholder["kind"], actor=actor)
    return policy


async def policyholder_kind(session: AsyncSession, policy: Policy) -> str:
    return str((await session.execute(select(Customer.kind).where(Customer.id == policy.customer_id))).scalar_one())


async def renew(session: AsyncSession, actor: str, policy_id: int, *, due_on: date,
                premium: Decimal | None) -> Receivable:
    """The next premium falls due 续期/续保: a new installment, with its own deadline."""
    policy = await get(session, policy_id, lock=True)
    _in_force(policy)
    if due_on < policy.status_on:
        raise Conflict(f"policy {policy.policy_no} has a change recorded on {policy.status_on}, after {due_on}",
                       code="effective_date_before_history", field="due_on")
    if premium is not None:
        policy.premium = premium
    policy.installments_due += 1
    await _event(session, policy, "renewed", due_on, actor, {"installment_no": policy.installments_due,
                                                             "premium": policy.premium})
    return await receivables.create(session, policy, installment_no=policy.installments_due, due_on=due_on,
                                    amount=policy.premium, policyholder_kind=await policyholder_kind(session, policy),
                                    actor=actor)


def _in_force(policy: Policy) -> None:
    if policy.status != "in_force":
        raise Conflict(f"policy {policy.policy_no} is {policy.status}", code="policy_not_in_force", field="policy_id")


async def end(session: AsyncSession, actor: str, policy_id: int, *, how: str, effective_on: date,
              reason: str) -> Policy:
    """Lapse, surrender or cancel: open premiums are written off, and commission paid on the policy
    is claimed back from the agent when it ends within the clawback window."""
    policy = await get(session, policy_id, lock=True)
    _in_force(policy)
    if effective_on < policy.status_on:
        raise Conflict(f"policy {policy.policy_no} has a change recorded on {policy.status_on}",
                       code="effective_date_before_history", field="effective_on")
    written_off = await _write_off_open(session, policy, effective_on, actor)
    clawed = await _claw_back(session, policy, effective_on, actor)
    policy.status, policy.status_on = how, effective_on
    await _event(session, policy, how, effective_on, actor, {
        "reason": reason, "written_off": written_off, "clawback": clawed})
    await session.flush()
    return policy


async def _write_off_open(session: AsyncSession, policy: Policy, on: date, actor: str) -> Decimal:
    open_ones = (await session.execute(select(Receivable).where(
        Receivable.branch_id == policy.branch_id, Receivable.policy_id == policy.id,
        Receivable.status == "open").with_for_update())).scalars().all()
    total = Decimal(0)
    for receivable in open_ones:
        left = receivable.amount - receivable.received
        dims = {"agent_id": receivable.agent_id, "policy_id": policy.id, "customer_id": policy.customer_id,
                "receivable_id": receivable.id}
        await journal.post(session, branch_id=policy.branch_id, kind="write_off", effective_on=on, actor=actor,
                           description=f"premium written off: policy {policy.policy_no} ended",
                           source=f"write_off:{receivable.id}", lines=[
                               Line("premium_income", "debit", left, policy.currency, **dims),
                               Line("premium_receivable", "credit", left, policy.currency, **dims)])
        await session.execute(update(Receivable).where(
            Receivable.branch_id == receivable.branch_id, Receivable.id == receivable.id)
            .values(status="written_off", settled_at=func.now()))
        total += left
    return total


async def _claw_back(session: AsyncSession, policy: Policy, on: date, actor: str) -> Decimal:
    rule = await rules.in_force(session, rules.Clawback, on)
    if on >= add_months(policy.issued_on, rule.window_months):
        return Decimal(0)
    paid = (await session.execute(text(
        "SELECT agent_id, currency, sum(amount) AS amount FROM ledger.journal_posting"
        " WHERE policy_id = :p AND account = 'commission_expense' AND agent_id IS NOT NULL"
        " GROUP BY agent_id, currency HAVING sum(amount) > 0 ORDER BY agent_id"), {"p": policy.id})).all()
    total = Decimal(0)
    for row in paid:
        amount = (row.amount * rule.share).quantize(Decimal("0.01"))
        if amount <= 0:
            continue
        dims = {"agent_id": row.agent_id, "policy_id": policy.id}
        await journal.post(session, branch_id=policy.branch_id, kind="clawback", effective_on=on, actor=actor,
                           description=f"commission clawback: policy {policy.policy_no} ended within "
                                       f"{rule.window_months} months", source=f"clawback:{policy.id}:{row.agent_id}",
                           lines=[Line("clawback_receivable", "debit", amount, row.currency, **dims),
                                  Line("commission_expense", "credit", amount, row.currency, **dims)])
        total += amount
    return total


async def reassign(session: AsyncSession, actor: str, policy_id: int, *, agent_id: int, effective_on: date,
                   reason: str) -> Policy:
    """Another agent services the policy (e.g. an orphan policy 孤儿单 after its agent left); what is
    still owed on it moves to them."""
    policy = await get(session, policy_id, lock=True)
    await access.active_agent(session, agent_id)
    if agent_id == policy.agent_id:
        raise Conflict(f"agent {agent_id} already services policy {policy.policy_no}", code="same_agent",
                       field="agent_id")
    previous = policy.agent_id
    open_ones = (await session.execute(select(Receivable).where(
        Receivable.branch_id == policy.branch_id, Receivable.policy_id == policy.id,
        Receivable.status == "open").with_for_update())).scalars().all()
    for receivable in open_ones:
        left = receivable.amount - receivable.received
        common = {"policy_id": policy.id, "customer_id": policy.customer_id, "receivable_id": receivable.id}
        await journal.post(session, branch_id=policy.branch_id, kind="reassignment", effective_on=effective_on,
                           actor=actor, description=f"policy {policy.policy_no} reassigned: {reason}", lines=[
                               Line("premium_receivable", "debit", left, policy.currency, agent_id=agent_id, **common),
                               Line("premium_receivable", "credit", left, policy.currency, agent_id=previous,
                                    **common)])
        receivable.agent_id = agent_id
    policy.agent_id = agent_id
    await _event(session, policy, "agent_reassigned", effective_on, actor, {
        "previous_agent_id": previous, "reason": reason})
    await session.flush()
    return policy
