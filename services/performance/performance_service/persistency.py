"""Persistency 继续率 per agent, team or supervisor line: of the policies issued `months` before the
period (the cohort), how much premium and how many policies are still paying in their second year.
Composite = premium weight × premium persistency + count weight × count persistency (DOMAIN §5: 70/30).
Policies cancelled in the cooling-off period 犹豫期 (ended as `cancelled`) leave the cohort."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from performance_service.rules import Persistency
from svckit.timeutil import add_months

COHORT = (
    "SELECT count(*) AS policies, coalesce(sum(f.fyp), 0) AS premium,"
    "  count(*) FILTER (WHERE r.policy_id IS NOT NULL) AS persisting,"
    "  coalesce(sum(f.fyp) FILTER (WHERE r.policy_id IS NOT NULL), 0) AS persisting_premium"
    " FROM performance.policy p"
    " JOIN performance.org_agent a ON a.agent_id = p.agent_id"
    " JOIN LATERAL (SELECT sum(amount) AS fyp FROM performance.fact"
    "   WHERE policy_id = p.policy_id AND kind = 'fyp') f ON true"
    " LEFT JOIN LATERAL (SELECT policy_id FROM performance.fact WHERE policy_id = p.policy_id"
    "   AND kind IN ('received_premium', 'reversal') AND policy_year >= 2 AND period <= :period"
    "   GROUP BY policy_id HAVING sum(amount) > 0) r ON true"
    " WHERE p.issued_on >= :first AND p.issued_on < :following AND p.currency = :currency"
    "   AND NOT (p.status = 'cancelled')")


def cohort_month(period: str, months: int) -> tuple[date, date]:
    """The first day of the month `months` before the period, and of the month after it."""
    first = add_months(date(int(period[:4]), int(period[5:]), 1), -months)
    return first, add_months(first, 1)


def rates(rule: Persistency, policies: int, premium: Decimal, persisting: int,
          persisting_premium: Decimal) -> dict[str, Decimal | None]:
    if policies == 0 or premium <= 0:
        return {"premium_rate": None, "count_rate": None, "composite": None}
    premium_rate = (persisting_premium / premium).quantize(Decimal("0.0001"))
    count_rate = (Decimal(persisting) / Decimal(policies)).quantize(Decimal("0.0001"))
    composite = (rule.premium_weight * premium_rate + rule.count_weight * count_rate).quantize(Decimal("0.0001"))
    return {"premium_rate": premium_rate, "count_rate": count_rate, "composite": composite}


async def persistency(session: AsyncSession, rule: Persistency, *, period: str, currency: str,
                      where: str, params: dict[str, Any]) -> dict[str, Any]:
    """`where` is one of the API's fixed conditions on `a` (the agent's row in the organisation's copy)."""
    first, following = cohort_month(period, rule.months)
    sql = f"{COHORT} AND {where}"
    row = (await session.execute(text(sql), {"period": period, "first": first, "following": following,
                                             "currency": currency, **params})).one()
    return {"period": period, "months": rule.months, "cohort": first.strftime("%Y-%m"), "policies": row.policies,
            "premium": row.premium, "persisting_policies": row.persisting,
            "persisting_premium": row.persisting_premium,
            **rates(rule, row.policies, row.premium, row.persisting, row.persisting_premium),
            "weights": {"premium": rule.premium_weight, "count": rule.count_weight}}
