"""An agent's working day in numbers and the written explanation of a shortfall 拜访不足说明."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from activity_service import access, rules
from activity_service.models import ActivityDay
from svckit.errors import Conflict, Unprocessable
from svckit.scope import DataScope
from svckit.timeutil import business_date

MAX_RANGE_DAYS = 400


async def require_visible_agent(session: AsyncSession, scope: DataScope, agent_id: int) -> None:
    row = await access.agent_or_none(session, agent_id)
    await access.require(session, scope, agent_id=agent_id, institution_id=row.institution_id if row else None,
                         what="agent", object_id=agent_id, field="agent_id")


async def between(session: AsyncSession, agent_id: int, start: date, end: date) -> list[ActivityDay]:
    if end < start:
        raise Unprocessable("the range ends before it starts", code="range_reversed", field="to")
    if (end - start).days > MAX_RANGE_DAYS:
        raise Unprocessable(f"a range covers at most {MAX_RANGE_DAYS} days", code="range_too_long", field="to")
    return list((await session.execute(select(ActivityDay).where(
        ActivityDay.agent_id == agent_id, ActivityDay.day.between(start, end)).order_by(ActivityDay.day))).scalars())


async def explain(session: AsyncSession, agent_id: int, day: date, explanation: str, now: datetime) -> ActivityDay:
    """Record why a day fell short of the visit minimum; only for a past or current day with a shortfall."""
    today = business_date(now)
    window = await rules.in_force(session, rules.EntryWindow, today)
    if day > today:
        raise Unprocessable(f"{day} has not come yet", code="day_in_future", field="day")
    if day < today - timedelta(days=window.max_past_days):
        raise Unprocessable(f"{day} is older than {window.max_past_days} days", code="day_too_old", field="day")
    agent = await access.active_agent(session, agent_id)
    minimum = await rules.in_force(session, rules.VisitMinimum, day)
    await session.execute(insert(ActivityDay).values(agent_id=agent_id, day=day, institution_id=agent.institution_id,
                                                     team_id=agent.team_id).on_conflict_do_nothing())
    found = (await session.execute(select(ActivityDay).where(ActivityDay.agent_id == agent_id, ActivityDay.day == day)
                                   .with_for_update())).scalar_one()
    if found.visits >= minimum.per_day:
        raise Conflict(f"{day} has {found.visits} visits, at least the minimum of {minimum.per_day}: nothing to "
                       "explain", code="no_shortfall", field="day")
    found.explanation, found.explained_at = explanation, now
    await session.flush()
    return found
