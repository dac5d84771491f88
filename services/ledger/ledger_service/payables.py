"""Commission payables 应付佣金: performance posts what a settlement run owes each agent (once per run
and agent, however often it retries), with the policies the commission was earned on so that a
later surrender can claw it back; finance marks each payable paid, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from ledger_service import journal
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


# Each line's agent with their institution's chain (for the branch), as the replica holds them today.
AGENT_BRANCHES = text(
    "SELECT a.agent_id, i.path FROM ledger.org_agent a JOIN ledger.org_institution i USING (institution_id)"
    " WHERE a.agent_id = ANY(CAST(:agents AS bigint[]))")
INSERT_PAYABLES = text(
    "INSERT INTO ledger.commission_payable (settlement_run, period, agent_id, branch_id, currency, amount, entry_id,"
    "  posted_by)"
    " SELECT :run, :period, p.agent_id, p.branch_id, p.currency, p.amount, p.entry_id, :actor"
    " FROM unnest(CAST(:agents AS bigint[]), CAST(:branches AS bigint[]),"
    "   CAST(:currencies AS text[]), CAST(:amounts AS numeric[]), CAST(:entries AS bigint[])) WITH ORDINALITY"
    "   AS p(agent_id, branch_id, currency, amount, entry_id, n) ORDER BY n"
    " RETURNING agent_id, id")


async def _existing(session: AsyncSession, run: str, agents: list[int]) -> dict[int, CommissionPayable]:
    ids = bindparam("agents", agents, type_=ARRAY(BigInteger))
    return {p.agent_id: p for p in (await session.execute(select(CommissionPayable).where(
        CommissionPayable.settlement_run == run, CommissionPayable.agent_id == any_(ids)))).scalars()}


def _already(n: int, run: str, line: PayableLine, found: CommissionPayable) -> LineResult:
    if (found.amount, found.currency) != (line.amount, line.currency):
        raise Conflict(f"line {n}: run {run} already owes agent {line.agent_id} {found.amount} "
                       f"{found.currency}; a corrected settlement is a new run", code="payable_differs",
                       field=f"lines[{n}].amount")
    return LineResult(line.agent_id, "already_posted", found.id, found.entry_id)


async def post_run(session: AsyncSession, *, run: str, period: str, effective_on: date, lines: list[PayableLine],
                   actor: str) -> list[LineResult]:
    """Post each agent's payable of a settlement run; a line already posted for this run and agent is
    reported as such (and refused if its amount differs: a changed run is a new run). The new lines
    post together: their journal entries in one `journal.post_many`, the payables in one statement."""
    first: dict[int, int] = {}
    for n, line in enumerate(lines):
        check_line(n, line)
        if first.setdefault(line.agent_id, n) != n:
            raise Unprocessable(f"line {n}: agent {line.agent_id} is already on line {first[line.agent_id]}; a run "
                                "owes each agent one payable", code="agent_repeated", field=f"lines[{n}].agent_id")
    agents = [x.agent_id for x in lines]
    existing = await _existing(session, run, agents)
    branches = {r.agent_id: branch_of(r.path) for r in (await session.execute(AGENT_BRANCHES, {"agents": agents}))}
    results: list[LineResult | None] = [None] * len(lines)
    new: list[int] = []
    for n, line in enumerate(lines):
        found = existing.get(line.agent_id)
        if found is not None:
            results[n] = _already(n, run, line, found)
        elif line.agent_id not in branches:
            raise Unprocessable(f"line {n}: agent {line.agent_id} is not known to the organisation",
                                code="agent_not_found", field=f"lines[{n}].agent_id")
        else:
            new.append(n)
    posted = await journal.post_many(session, [_entry(run, period, effective_on, lines[n], branches[lines[n].agent_id])
                                               for n in new], actor=actor)
    # A line whose entry is already there was posted meanwhile by a concurrent retry of this run,
    # which has committed since: it answers as a retry would.
    raced = [n for n, p in zip(new, posted, strict=True) if p is None]
    if raced:
        now = await _existing(session, run, [lines[n].agent_id for n in raced])
        for n in raced:
            results[n] = _already(n, run, lines[n], now[lines[n].agent_id])
    done = [(n, p) for n, p in zip(new, posted, strict=True) if p is not None]
    if done:
        ids: dict[int, int] = {r.agent_id: r.id for r in await session.execute(INSERT_PAYABLES, {
            "run": run, "period": period, "actor": actor, "agents": [lines[n].agent_id for n, _ in done],
            "branches": [p.branch_id for _, p in done], "currencies": [lines[n].currency for n, _ in done],
            "amounts": [lines[n].amount for n, _ in done], "entries": [p.entry_id for _, p in done]})}
        for n, p in done:
            results[n] = LineResult(lines[n].agent_id, "posted", ids[lines[n].agent_id], p.entry_id)
    answered = [r for r in results if r is not None]
    await append_event(session, PLATFORM_TABLES, event_type="payables.posted", aggregate_type="settlement_run",
                       aggregate_id=run, payload={"settlement_run": run, "period": period,
                                                  "posted": sum(r.status == "posted" for r in answered)})
    return answered


def _entry(run: str, period: str, effective_on: date, line: PayableLine, branch: int) -> journal.NewEntry:
    """Dr commission expense (per policy, for clawback) / Cr the agent's commission payable."""
    expense = [Line("commission_expense", "debit", amount, line.currency, agent_id=line.agent_id,
                    policy_id=policy_id) for policy_id, amount in line.by_policy] or [
        Line("commission_expense", "debit", line.amount, line.currency, agent_id=line.agent_id)]
    return journal.NewEntry(
        branch_id=branch, kind="commission", effective_on=effective_on,
        description=f"commission {period}, settlement {run}", source=f"payable:{run}:{line.agent_id}",
        lines=[*expense, Line("commission_payable", "credit", line.amount, line.currency, agent_id=line.agent_id)])


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
