"""Who is late with which plan or review sheet, and which submitted sheets wait for review, in the
caller's scope: supervisors see their subtree, back office their institutions.

For each kind of sheet the list looks at the latest period whose deadline (rule `plan_deadlines`) has
passed: an agent's weekly review and monthly record, and each team's monthly and annual plan. A sheet
never started, still a draft, or returned and not handed in again is overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activity_service import access, plans, rules, teams
from activity_service.models import DIRECTORY, PlanSheet
from svckit.scope import DataScope


@dataclass(frozen=True)
class Overdue:
    today: date
    periods: list[dict[str, Any]]
    overdue: list[dict[str, Any]]
    awaiting_review: list[PlanSheet]


async def report(session: AsyncSession, scope: DataScope, *, today: date, caller_agent_id: int | None,
                 limit: int) -> Overdue:
    rule = await rules.in_force(session, rules.PlanDeadlines, today)
    a, s = DIRECTORY.agents, PlanSheet
    periods, late = [], []
    for kind in plans.AGENT_KINDS:
        start, end, due = plans.last_due_period(kind, today, rule)
        periods.append({"kind": kind, "period_start": start, "period_end": end, "due_on": due})
        on = and_(s.agent_id == a.c.agent_id, s.kind == kind, s.period_start == start, s.team_id.is_(None))
        rows = (await session.execute(
            select(a.c.agent_id, a.c.team_id, a.c.institution_id, s.id, s.status)
            .select_from(a.outerjoin(s, on))
            .where(a.c.status != "left", access.condition(scope, a.c.agent_id, a.c.institution_id),
                   or_(s.id.is_(None), s.status.in_(plans.EDITABLE)))
            .order_by(a.c.agent_id).limit(limit))).all()
        late += [{"kind": kind, "period_start": start, "due_on": due, "agent_id": r.agent_id, "team_id": r.team_id,
                  "institution_id": r.institution_id, "sheet_id": r.id, "status": r.status or "missing"}
                 for r in rows]
    scoped = teams.in_scope(scope).subquery()
    for kind in sorted(plans.TEAM_KINDS):
        start, end, due = plans.last_due_period(kind, today, rule)
        periods.append({"kind": kind, "period_start": start, "period_end": end, "due_on": due})
        on = and_(s.team_id == scoped.c.team_id, s.kind == kind, s.period_start == start)
        rows = (await session.execute(
            select(scoped.c.team_id, scoped.c.institution_id, s.id, s.status, scoped.c.supervisor)
            .select_from(scoped.outerjoin(s, on))
            .where(or_(s.id.is_(None), s.status.in_(plans.EDITABLE)))
            .order_by(scoped.c.team_id).limit(limit))).all()
        late += [{"kind": kind, "period_start": start, "due_on": due, "agent_id": r.supervisor, "team_id": r.team_id,
                  "institution_id": r.institution_id, "sheet_id": r.id, "status": r.status or "missing"}
                 for r in rows]
    waiting = select(s).where(s.status == "submitted", access.condition(scope, s.agent_id, s.institution_id))
    if caller_agent_id is not None:
        waiting = waiting.where(s.agent_id != caller_agent_id)
    awaiting = list((await session.execute(waiting.order_by(s.submitted_at, s.id).limit(limit))).scalars())
    return Overdue(today, periods, late, awaiting)
