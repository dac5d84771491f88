"""Leaderboards 排行榜 of a month from the facts: by agent, team or institution, on received premium,
FYP, standard premium or new policies, within what the caller may see; ties share a place, so many
people can win (seed 000)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Numeric, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from performance_service.models import DIRECTORY, Fact

METRICS: dict[str, tuple[str, ...]] = {
    "received_premium": ("received_premium", "reversal"),
    "fyp": ("fyp",),
    "standard_premium": ("standard_premium",),
    "new_policies": ("new_policy",),
}


async def leaderboard(session: AsyncSession, *, period: str, by: str, metric: str, currency: str,
                      visible: ColumnElement[bool], limit: int) -> list[dict[str, Any]]:
    value: ColumnElement[Any] = (cast(func.sum(Fact.policies), Integer) if metric == "new_policies"
                                 else cast(func.sum(Fact.amount), Numeric))
    agents = DIRECTORY.agents
    key: ColumnElement[Any]
    if by == "agent":
        key = Fact.agent_id.expression
    elif by == "institution":
        key = Fact.institution_id.expression
    else:  # the team the agent is in today (the organisation's copy)
        key = func.coalesce(agents.c.team_id, literal(0))
    query = (select(key.label("key"), value.label("value"))
             .where(Fact.period == period, Fact.kind.in_(METRICS[metric]), visible))
    if metric != "new_policies":
        query = query.where(Fact.currency == currency)
    if by == "team":
        query = query.join(agents, agents.c.agent_id == Fact.agent_id)
    grouped = query.group_by(key).subquery()
    ranked = select(grouped.c.key, grouped.c.value,
                    func.rank().over(order_by=grouped.c.value.desc()).label("place")
                    ).order_by(grouped.c.value.desc(), grouped.c.key).limit(limit)
    return [{"place": r.place, "key": r.key, "value": r.value} for r in await session.execute(ranked)]
