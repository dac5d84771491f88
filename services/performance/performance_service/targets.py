"""Targets 目标: a team's annual premium, recruiting or new-policy target decomposed to quarters, months,
ISO weeks and agents (each share recorded, each level adding up exactly to the year), and the achievement
against it from the facts (received premium, new policies) and org's joiners (recruits)."""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from performance_service.models import Target, TargetShare
from svckit.db import flush_or_refuse
from svckit.errors import Conflict, NotFound, Unprocessable


def allocate(amount: Decimal, weights: list[Decimal], places: int) -> list[Decimal]:
    """Parts proportional to `weights` that add up exactly to `amount`, in units of 10^-places
    (largest remainders get the units left over; ties go to the earlier part)."""
    unit = Decimal(1).scaleb(-places)
    units = int((amount / unit).to_integral_value())
    total = sum(weights, Decimal(0))
    raw = [Decimal(units) * w / total for w in weights]
    floors = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))[:units - sum(floors)]:
        floors[i] += 1
    return [Decimal(f) * unit for f in floors]


def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def week_days(year: int, month: int) -> dict[str, int]:
    """Days of a month in each ISO week 周 (a week across two months has a part in each)."""
    days: dict[str, int] = defaultdict(int)
    for day in range(1, calendar.monthrange(year, month)[1] + 1):
        iso = date(year, month, day).isocalendar()
        days[f"{iso.year:04d}-W{iso.week:02d}"] += 1
    return dict(days)


def decompose(year: int, amount: Decimal, month_weights: list[Decimal], agent_weights: dict[int, Decimal],
              places: int) -> list[tuple[str, str, Decimal]]:
    months = allocate(amount, month_weights, places)
    shares: list[tuple[str, str, Decimal]] = []
    for q in range(4):
        shares.append(("quarter", f"{year:04d}-Q{q + 1}", sum(months[q * 3:q * 3 + 3], Decimal(0))))
    weeks: dict[str, Decimal] = defaultdict(Decimal)
    for m, value in enumerate(months, start=1):
        shares.append(("month", month_key(year, m), value))
        split = week_days(year, m)
        for key, part in zip(split, allocate(value, [Decimal(d) for d in split.values()], places), strict=True):
            weeks[key] += part
    shares += [("week", key, value) for key, value in sorted(weeks.items())]
    if agent_weights:
        agents = sorted(agent_weights)
        parts = allocate(amount, [agent_weights[a] for a in agents], places)
        shares += [("agent", str(a), v) for a, v in zip(agents, parts, strict=True)]
    return shares


async def create(session: AsyncSession, *, team_id: int, institution_id: int, year: int, metric: str,
                 amount: Decimal, month_weights: list[Decimal] | None, agent_weights: dict[int, Decimal],
                 actor: str) -> Target:
    weights = month_weights or [Decimal(1)] * 12
    if len(weights) != 12 or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise Unprocessable("twelve non-negative month weights, not all zero", code="invalid_month_weights",
                            field="month_weights")
    if any(w < 0 for w in agent_weights.values()) or (agent_weights and sum(agent_weights.values()) <= 0):
        raise Unprocessable("agents' weights are non-negative, not all zero", code="invalid_agent_weights",
                            field="agent_weights")
    places = 2 if metric == "premium" else 0
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise Unprocessable(f"a {metric} target has at most {places} decimals", code="amount_too_precise",
                            field="amount")
    target = Target(team_id=team_id, institution_id=institution_id, year=year, metric=metric, amount=amount,
                    month_weights=[str(w) for w in weights], created_by=actor)
    session.add(target)
    await flush_or_refuse(session, Conflict(f"team {team_id} already has a {metric} target for {year}",
                                            code="target_exists", field="team_id"))
    session.add_all([TargetShare(target_id=target.id, level=level, key=key, amount=value)
                     for level, key, value in decompose(year, amount, weights, agent_weights, places)])
    await session.flush()
    await session.refresh(target)
    return target


async def get(session: AsyncSession, target_id: int) -> Target:
    found = await session.get(Target, target_id)
    if found is None:
        raise NotFound(f"target {target_id} does not exist", code="target_not_found", field="target_id")
    return found


async def shares(session: AsyncSession, target_id: int) -> list[TargetShare]:
    order = {"quarter": 0, "month": 1, "week": 2, "agent": 3}
    rows = (await session.execute(select(TargetShare).where(TargetShare.target_id == target_id))).scalars().all()
    return sorted(rows, key=lambda s: (order[s.level], s.key))


PREMIUM = text(
    "SELECT f.agent_id, coalesce(sum(f.amount), 0) AS achieved FROM performance.fact f"
    " JOIN performance.org_agent a ON a.agent_id = f.agent_id AND a.team_id = :team"
    " WHERE f.period = ANY(:periods) AND f.kind IN ('received_premium', 'reversal') AND f.currency = :currency"
    " GROUP BY f.agent_id")
NEW_POLICIES = text(
    "SELECT f.agent_id, coalesce(sum(f.policies), 0) AS achieved FROM performance.fact f"
    " JOIN performance.org_agent a ON a.agent_id = f.agent_id AND a.team_id = :team"
    " WHERE f.period = ANY(:periods) AND f.kind = 'new_policy' GROUP BY f.agent_id")
RECRUITS = text(
    "SELECT coalesce(supervisor_id, 0) AS agent_id, count(*) AS achieved FROM performance.recruit"
    " WHERE team_id = :team AND joined_on BETWEEN :first AND :last GROUP BY 1")


async def achievement(session: AsyncSession, target: Target, period: str) -> dict[str, Any]:
    """Achieved against the target for a month (YYYY-MM) or the whole year (YYYY): the team's received
    premium or new policies (its members of today), or its joiners; per agent but for recruits."""
    if period == str(target.year):
        months = [month_key(target.year, m) for m in range(1, 13)]
        goal = target.amount
    elif period[:4] == str(target.year) and len(period) == 7:
        months = [period]
        share = await session.get(TargetShare, (target.id, "month", period))
        goal = share.amount if share is not None else Decimal(0)
    else:
        raise Unprocessable(f"name the target's year {target.year} or one of its months", code="period_outside",
                            field="period")
    first = date(int(months[0][:4]), int(months[0][5:]), 1)
    last = (date(int(months[-1][:4]), int(months[-1][5:]), 28) + timedelta(days=4)).replace(day=1) - timedelta(1)
    if target.metric == "premium":
        rows = (await session.execute(PREMIUM, {"team": target.team_id, "periods": months,
                                                "currency": target.currency})).all()
    elif target.metric == "new_policies":
        rows = (await session.execute(NEW_POLICIES, {"team": target.team_id, "periods": months})).all()
    else:
        rows = (await session.execute(RECRUITS, {"team": target.team_id, "first": first, "last": last})).all()
    achieved = sum((Decimal(r.achieved) for r in rows), Decimal(0))
    ratio = (achieved / goal).quantize(Decimal("0.0001")) if goal else None
    return {"target_id": target.id, "period": period, "metric": target.metric, "target": goal,
            "achieved": achieved, "ratio": ratio,
            "by_agent": {str(r.agent_id): Decimal(r.achieved) for r in rows} if target.metric != "recruits" else {}}
