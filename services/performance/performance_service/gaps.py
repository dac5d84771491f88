"""What is missing 差距 for a promotion 晋升 or maintenance 维持: each condition of the rule set in force,
required against achieved over the assessment window ending with the period (an open period too),
with the teams org counts back 回算 for that assessment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from performance_service import persistency
from performance_service.models import RuleSet
from performance_service.rules import RankCondition, RuleSetBody
from performance_service.runs import period_bounds
from svckit.errors import NotFound

FIRST_YEAR = text(
    "SELECT product_code, sum(amount) AS amount FROM performance.fact"
    " WHERE agent_id = :agent AND period = ANY(:periods) AND kind IN ('received_premium', 'reversal')"
    "   AND policy_year = 1 AND currency = :currency GROUP BY product_code")
POLICIES = text(
    "SELECT coalesce(sum(policies), 0) FROM performance.fact"
    " WHERE agent_id = :agent AND period = ANY(:periods) AND kind = 'new_policy'")
TEAM = text(
    "SELECT count(*) AS below, count(*) FILTER (WHERE path[cardinality(path)] = :agent) AS direct"
    " FROM performance.org_agent WHERE path @> ARRAY[CAST(:agent AS bigint)] AND status <> 'left'")


def window(period: str, months: int) -> list[str]:
    year, month = int(period[:4]), int(period[5:])
    found = []
    for _ in range(months):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return sorted(found)


async def rule_set_at(session: AsyncSession, period: str) -> RuleSet:
    """The version of the basic law in force at the end of the month `period`."""
    _, last = period_bounds(period)
    found = (await session.execute(select(RuleSet).where(
        RuleSet.status == "in_force", RuleSet.valid_from <= last,
        (RuleSet.valid_to.is_(None)) | (RuleSet.valid_to > last)))).scalar()
    if found is None:
        raise NotFound(f"no rule set is in force on {last}", code="rule_set_not_found", field="period")
    return found


async def rules_at(session: AsyncSession, period: str) -> RuleSetBody:
    return RuleSetBody.model_validate((await rule_set_at(session, period)).body)


def condition_for(body: RuleSetBody, rank_code: str, kind: str) -> RankCondition:
    for c in body.rank_conditions:
        if c.rank_code == rank_code and c.kind == kind:
            return c
    raise NotFound(f"the rule set names no {kind} condition for rank {rank_code}", code="no_rank_condition",
                   field="kind")


def _gap(name: str, required: Decimal | int, actual: Decimal | int) -> dict[str, Any]:
    required, actual = Decimal(required), Decimal(actual)
    missing = max(required - actual, Decimal(0))
    return {"condition": name, "required": required, "actual": actual, "missing": missing, "met": missing == 0}


async def gap(session: AsyncSession, *, agent_id: int, rank_code: str, period: str, kind: str,
              count_back: list[dict[str, Any]], body: RuleSetBody | None = None) -> dict[str, Any]:
    """`body` defaults to the rule set in force at the period's end."""
    body = body or await rules_at(session, period)
    c = condition_for(body, rank_code, kind)
    periods = window(period, c.months)
    conditions = []
    if c.fyc_min is not None:
        fyc = Decimal(0)
        for r in await session.execute(FIRST_YEAR, {"agent": agent_id, "periods": periods,
                                                    "currency": body.currency}):
            fyc += body.rounding.apply(r.amount * (body.commission.rate(r.product_code or "", 1) or Decimal(0)))
        conditions.append(_gap("fyc", c.fyc_min, fyc))
    if c.policies_min is not None:
        policies = (await session.execute(POLICIES, {"agent": agent_id, "periods": periods})).scalar_one()
        conditions.append(_gap("new_policies", c.policies_min, policies))
    team = (await session.execute(TEAM, {"agent": agent_id})).one()
    if c.team_size_min is not None:
        counted = sum((Decimal(sum(t["headcount_by_rank"].values())) * Decimal(str(t["share"]))
                       for t in count_back if t.get("separated")), Decimal(0))
        conditions.append(_gap("team_size", c.team_size_min, Decimal(team.below) + counted))
    if c.direct_reports_min is not None:
        conditions.append(_gap("direct_reports", c.direct_reports_min, team.direct))
    if c.persistency_min is not None:
        measured = await persistency.persistency(session, body.persistency, period=period, currency=body.currency,
                                                 where="a.agent_id = :subject", params={"subject": agent_id})
        # No policy in the cohort yet: nothing to hold against the agent (DOMAIN §5: not assessed on it).
        composite = measured["composite"] if measured["composite"] is not None else c.persistency_min
        conditions.append(_gap("persistency", c.persistency_min, composite))
    return {"agent_id": agent_id, "period": period, "kind": kind, "rank_code": rank_code,
            "target_rank": c.target_rank, "months": c.months, "window": periods,
            "met": all(x["met"] for x in conditions), "conditions": conditions, "count_back": count_back}
