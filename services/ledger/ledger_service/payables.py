"""Commission payables 应付佣金: performance posts what a settlement run owes each agent (once per run
and agent, however often it retries), with the policies the commission was earned on so that a
later surrender can claw it back; finance marks each payable paid, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledger_service import access, journal
from ledger_service.models import PLATFORM_TABLES, CommissionPayable
from ledger_service.postings import Line
from svckit.directory import branch_of
from svckit.errors import Conflict, NotFound, Unprocessable
from svckit.outbox import append_event


@dataclass(frozen=True)
class PayableLine:
    agent_id: int
    amount: Decimal
    currency: str
    by_policy: list[tuple[int, Decimal]]


@dataclass(frozen=True)
class LineResult:
    agent_id: int
    status: str
    payable_id: int
    entry_id: int


def check_line(n: int, line: PayableLine) -> None:
    if line.by_policy and sum(a for _, a in line.by_policy) != line.amount:
        raise Unprocessable(f"line {n}: the policies' commissions add up to {sum(a for _, a in line.by_policy)}, "
                            f"not {line.amount}", code="policy_split_mismatch", field=f"lines[{n}].policies")


async def post_run(session: AsyncSession, *, run: str, period: str, effective_on: date, lines: list[PayableLine],
                   actor: str) -> list[LineResult]:
    """Post each agent's payable of a settlement run; a line already posted for this run and agent is
    reported as such (and refused if its amount differs: a changed run is a new run)."""
    for n, line in enumerate(lines):
        check_line(n, line)
    existing = {p.agent_id: p for p in (await session.execute(select(CommissionPayable).where(
        CommissionPayable.settlement_run == run,
        CommissionPayable.agent_id.in_([x.agent_id for x in lines])))).scalars()}
    results = []
    for n, line in enumerate(lines):
        found = existing.get(line.agent_id)
        if found is not None:
            if (found.amount, found.currency) != (line.amount, line.currency):
                raise Conflict(f"line {n}: run {run} already owes agent {line.agent_id} {found.amount} "
                               f"{found.currency}; a corrected settlement is a new run", code="payable_differs",
                               field=f"lines[{n}].amount")
            results.append(LineResult(line.agent_id, "already_posted", found.id, found.entry_id))
            continue
        agent = await access.active_agent_or_none(session, line.agent_id)
        if agent is None:
            raise Unprocessable(f"line {n}: agent {line.agent_id} is not known to the organisation",
                                code="agent_not_found", field=f"lines[{n}].agent_id")
        branch = branch_of(await access.institution_path(session, agent.institution_id))
        expense = [Line("commission_expense", "debit", amount, line.currency, agent_id=line.agent_id,
                        policy_id=policy_id) for policy_id, amount in line.by_policy] or [
            Line("commission_expense", "debit", line.amount, line.currency, agent_id=line.agent_id)]
        posted = await journal.post(
            session, branch_id=branch, kind="commission", effective_on=effective_on, actor=actor,
            description=f"commission {period}, settlement {run}", source=f"payable:{run}:{line.agent_id}",
            lines=[*expense, Line("commission_payable", "credit", line.amount, line.currency, agent_id=line.agent_id)])
        assert posted is not None  # the (run, agent) row above was absent, so is its entry
        payable = CommissionPayable(settlement_run=run, period=period, agent_id=line.agent_id, branch_id=branch,
                                    currency=line.currency, amount=line.amount, entry_id=posted.entry_id,
                                    posted_by=actor)
        session.add(payable)
        await session.flush()
        results.append(LineResult(line.agent_id, "posted", payable.id, posted.entry_id))
    await append_event(session, PLATFORM_TABLES, event_type="payables.posted", aggregate_type="settlement_run",
                       aggregate_id=run, payload={"settlement_run": run, "period": period,
                                                  "posted": sum(r.status == "posted" for r in results)})
    return results


async def get(session: AsyncSession, payable_id: int) -> CommissionPayable:
    found = await session.get(CommissionPayable, payable_id)
    if found is None:
        raise NotFound(f"payable {payable_id} does not exist", code="payable_not_found", field="payable_id")
    return found


async def pay(session: AsyncSession, payable_id: int, *, paid_on: date, actor: str) -> CommissionPayable:
    """Finance paid the agent: Dr commission payable / Cr bank, once."""
    payable = await get(session, payable_id)
    if payable.status == "paid":
        raise Conflict(f"payable {payable_id} was paid on {payable.paid_at}", code="payable_already_paid",
                       field="payable_id")
    posted = await journal.post(
        session, branch_id=payable.branch_id, kind="commission_payment", effective_on=paid_on, actor=actor,
        description=f"commission paid: settlement {payable.settlement_run}", source=f"payment:{payable.id}", lines=[
            Line("commission_payable", "debit", payable.amount, payable.currency, agent_id=payable.agent_id),
            Line("bank", "credit", payable.amount, payable.currency, agent_id=payable.agent_id)])
    if posted is None:
        raise Conflict(f"payable {payable_id} was already paid", code="payable_already_paid", field="payable_id")
    values: dict[str, Any] = {"status": "paid", "paid_by": actor, "paid_at": posted.posted_at,
                              "payment_entry_id": posted.entry_id}
    await session.execute(update(CommissionPayable).where(CommissionPayable.id == payable_id).values(**values))
    await session.refresh(payable)
    return payable
