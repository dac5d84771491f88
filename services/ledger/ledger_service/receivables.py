"""Receivables 应收保费: each premium due, its collection deadline on the working-day calendar, aging
and overdue lists, and what was outstanding per agent at a period's end (for assessments)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, and_, func, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from ledger_service import calendar, journal, rules
from ledger_service.models import DIRECTORY, PLATFORM_TABLES, Policy, Receivable
from ledger_service.postings import Line
from svckit.outbox import append_event
from svckit.timeutil import BUSINESS_TZ


async def deadline_for(session: AsyncSession, kind: str, due_on: date) -> calendar.Deadline:
    deadlines = await rules.in_force(session, rules.CollectionDeadlines, due_on)
    days = deadlines.for_kind(kind)
    known = await calendar.calendar_between(session, due_on, due_on + calendar.horizon(days))
    return known.add_working_days(due_on, days)


async def create(session: AsyncSession, policy: Policy, *, installment_no: int, due_on: date, amount: Decimal,
                 policyholder_kind: str, actor: str) -> Receivable:
    """A premium falls due: the receivable, its deadline, and the entry Dr premium receivable / Cr premium income."""
    deadline = await deadline_for(session, policyholder_kind, due_on)
    receivable = Receivable(
        branch_id=policy.branch_id, policy_id=policy.id, installment_no=installment_no, agent_id=policy.agent_id,
        institution_id=policy.institution_id, customer_id=policy.customer_id, policyholder_kind=policyholder_kind,
        due_on=due_on, deadline_on=deadline.on, deadline_provisional=deadline.provisional, currency=policy.currency,
        amount=amount)
    session.add(receivable)
    await session.flush()
    dims = {"agent_id": policy.agent_id, "policy_id": policy.id, "customer_id": policy.customer_id,
            "receivable_id": receivable.id}
    await journal.post(session, branch_id=policy.branch_id, kind="premium_due",
                       description=f"premium due: policy {policy.policy_no} installment {installment_no}",
                       effective_on=due_on, actor=actor, source=f"receivable:{receivable.id}", lines=[
                           Line("premium_receivable", "debit", amount, policy.currency, **dims),
                           Line("premium_income", "credit", amount, policy.currency, **dims)])
    await append_event(session, PLATFORM_TABLES, event_type="receivable.created", aggregate_type="receivable",
                       aggregate_id=str(receivable.id), payload=_payload(receivable, policy.policy_no))
    return receivable


def _payload(receivable: Receivable, policy_no: str) -> dict[str, Any]:
    return {"receivable_id": receivable.id, "policy_id": receivable.policy_id, "policy_no": policy_no,
            "installment_no": receivable.installment_no, "agent_id": receivable.agent_id,
            "institution_id": receivable.institution_id, "branch_id": receivable.branch_id,
            "due_on": receivable.due_on, "deadline_on": receivable.deadline_on,
            "deadline_provisional": receivable.deadline_provisional,
            "amount": receivable.amount, "currency": receivable.currency}


async def recompute_deadlines(session: AsyncSession, year: int) -> int:
    """Once a year's schedule is loaded (or corrected), open deadlines that reach into it are counted
    again: provisional ones become exact."""
    rows = (await session.execute(select(Receivable).where(
        Receivable.status == "open", Receivable.deadline_on >= date(year, 1, 1),
        Receivable.due_on <= date(year, 12, 31)).with_for_update())).scalars().all()
    for receivable in rows:
        deadline = await deadline_for(session, receivable.policyholder_kind, receivable.due_on)
        receivable.deadline_on, receivable.deadline_provisional = deadline.on, deadline.provisional
    await session.flush()
    return len(rows)


async def settle_part(session: AsyncSession, receivable: Receivable, amount: Decimal) -> None:
    """Money received against a receivable (the journal entry is the caller's)."""
    received = receivable.received + amount
    values: dict[str, Any] = {"received": received}
    if received == receivable.amount:
        values |= {"status": "settled", "settled_at": text("now()")}
    await session.execute(update(Receivable).where(
        Receivable.branch_id == receivable.branch_id, Receivable.id == receivable.id).values(**values))
    await session.refresh(receivable)


def end_of_day(day: date) -> datetime:
    """The first instant after a business day (Beijing time), for 'as at the end of' questions."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=BUSINESS_TZ)


@dataclass(frozen=True)
class AgingRow:
    group_id: int | None
    currency: str
    not_due: Decimal
    within_deadline: Decimal
    buckets: list[Decimal]
    receivables: int


async def aging(session: AsyncSession, *, on: date, group_by: str, bounds: Sequence[int],
                where: ColumnElement[bool]) -> list[AgingRow]:
    """Outstanding open premium per group: not yet due, due but within the deadline, then by days past
    the deadline in the rule's buckets. `where` is the caller's scope condition.

    A sum over no receivable comes back NULL and is answered as 0 here: most groups have nothing in
    most columns, and a NULL costs nothing to send and decode (1,000,000 receivables by agent are
    70,000 rows of seven amounts)."""
    r, d = Receivable, DIRECTORY.agents
    key: ColumnElement[Any] = {"agent": r.agent_id, "institution": r.institution_id, "team": d.c.team_id,
           "all": literal(None, BigInteger)}[group_by].label("group_id")
    left = r.amount - r.received
    late = literal(on) - r.deadline_on

    def owed(condition: ColumnElement[bool]) -> ColumnElement[Decimal]:
        return func.sum(left).filter(condition)

    edges = list(zip([0, *bounds], [*bounds, None], strict=True))
    buckets = [owed(and_(late > lo, late <= hi) if hi is not None else late > lo) for lo, hi in edges]
    query = (select(key, r.currency, owed(r.due_on > on), owed(and_(r.due_on <= on, r.deadline_on >= on)),
                    *buckets, func.count())
             .select_from(r).where(r.status == "open", where).group_by(key, r.currency)
             .order_by(key.asc().nulls_first(), r.currency))
    if group_by == "team":
        query = query.outerjoin(d, d.c.agent_id == r.agent_id)
    connection = await session.connection()  # plain rows, without the ORM's loading
    rows = (await connection.execute(query)).all()
    return [AgingRow(group_id, currency, _ZERO if not_due is None else not_due,
                     _ZERO if within is None else within, [_ZERO if b is None else b for b in owed_by_age], count)
            for group_id, currency, not_due, within, *owed_by_age, count in rows]


_ZERO = Decimal(0)  # what coalesce(sum(...), 0) answered: the integer 0, rendered "0"


async def outstanding_at(session: AsyncSession, period_end: date, agent_ids: Sequence[int] | None,
                         ) -> list[dict[str, Any]]:
    """Per agent and currency: premium outstanding at the end of `period_end`, and how much of it was
    past its collection deadline then (read from the journal, so later payments do not change it)."""
    rows = (await session.execute(text(
        "SELECT agent_id, currency, sum(net) AS outstanding, coalesce(sum(net) FILTER (WHERE overdue), 0) AS overdue,"
        "  count(*) FILTER (WHERE overdue) AS overdue_receivables"
        " FROM (SELECT p.agent_id, p.currency, p.receivable_id, sum(p.amount) AS net,"
        "         bool_or(r.deadline_on < :end_day) AS overdue"
        "       FROM ledger.journal_posting p JOIN ledger.receivable r ON r.id = p.receivable_id"
        "         AND r.branch_id = p.branch_id"
        "       WHERE p.account = 'premium_receivable' AND p.posted_at < :end"
        "         AND (CAST(:agents AS bigint[]) IS NULL OR p.agent_id = ANY(CAST(:agents AS bigint[])))"
        "       GROUP BY p.agent_id, p.currency, p.receivable_id HAVING sum(p.amount) <> 0) per_receivable"
        " GROUP BY agent_id, currency ORDER BY agent_id, currency"
    ), {"end": end_of_day(period_end), "end_day": period_end, "agents": list(agent_ids) if agent_ids else None})).all()
    return [dict(r._mapping) for r in rows]
