"""A month so far 月度进度, per agent: received premium, first-year commission (FYC) at the rates of the
rule set in force, and the agent's monthly premium target with its achievement.

An agent's monthly target is their share of their team's annual premium target, spread over the year
the way the team's target is (the month's share of the year), so the agents' months add up to the
team's month up to rounding. FYC is first-year received premium × the product's year-1 rate, rounded
per product as the rule set says (the same reckoning as the rank gap's FYC condition).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from performance_service import access, gaps
from performance_service.models import DIRECTORY
from svckit.scope import DataScope

CENT = Decimal("0.01")
PREMIUM = text(
    "SELECT agent_id, product_code, coalesce(policy_year, 0) AS policy_year, sum(amount) AS amount"
    " FROM performance.fact WHERE period = :period AND agent_id = ANY(:agents) AND currency = :currency"
    "   AND kind IN ('received_premium', 'reversal') GROUP BY agent_id, product_code, coalesce(policy_year, 0)")
# The agent's share of each premium target of the year, times the month's part of that year's target.
TARGETS = text(
    "SELECT CAST(s.key AS bigint) AS agent_id, sum(s.amount * m.amount / t.amount) AS target"
    " FROM performance.target t"
    " JOIN performance.target_share s ON s.target_id = t.id AND s.level = 'agent'"
    " JOIN performance.target_share m ON m.target_id = t.id AND m.level = 'month' AND m.key = :period"
    " WHERE t.metric = 'premium' AND t.year = :year AND t.currency = :currency AND s.key = ANY(:keys)"
    " GROUP BY s.key")


@dataclass(frozen=True)
class AgentMonth:
    agent_id: int
    team_id: int | None
    received_premium: Decimal
    first_year_received: Decimal
    fyc: Decimal
    target: Decimal | None
    achievement: Decimal | None


async def month_progress(session: AsyncSession, scope: DataScope, *, period: str, limit: int
                         ) -> tuple[str, list[AgentMonth]]:
    """Every agent the scope holds who has not left (by id, at most `limit`), with their month so far;
    and the currency it is counted in."""
    body = await gaps.rules_at(session, period)
    a = DIRECTORY.agents
    people = (await session.execute(
        select(a.c.agent_id, a.c.team_id).where(access.condition(scope, a.c.agent_id, a.c.institution_id),
                                                a.c.status != "left")
        .order_by(a.c.agent_id).limit(limit))).all()
    ids = [int(p.agent_id) for p in people]
    received: dict[int, Decimal] = defaultdict(Decimal)
    first_year: dict[int, Decimal] = defaultdict(Decimal)
    fyc: dict[int, Decimal] = defaultdict(Decimal)
    for r in await session.execute(PREMIUM, {"period": period, "agents": ids, "currency": body.currency}):
        received[r.agent_id] += r.amount
        if r.policy_year == 1:
            first_year[r.agent_id] += r.amount
            fyc[r.agent_id] += body.rounding.apply(r.amount * (body.commission.rate(r.product_code or "", 1)
                                                               or Decimal(0)))
    targets = {int(r.agent_id): Decimal(r.target).quantize(CENT, ROUND_HALF_UP)
               for r in await session.execute(TARGETS, {"period": period, "year": int(period[:4]),
                                                        "currency": body.currency, "keys": [str(i) for i in ids]})}
    rows = []
    for p in people:
        target = targets.get(p.agent_id)
        got = received[p.agent_id]
        rows.append(AgentMonth(
            agent_id=p.agent_id, team_id=p.team_id, received_premium=got, first_year_received=first_year[p.agent_id],
            fyc=fyc[p.agent_id], target=target,
            achievement=(got / target).quantize(Decimal("0.0001"), ROUND_HALF_UP) if target else None))
    return body.currency, rows
