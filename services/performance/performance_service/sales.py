"""The sales part 销售业绩 of KPI, derived from what the system holds instead of typed in (seed 001:
保费收入完成情况, 新单数量达成率). For an agent and a month (YYYY-MM) or a year (YYYY), each measure of the
rule set's `sales_score` is the agent's actual over their target for the period, scored and weighted
as the rule set says. `derive` is pure; `evidence_for` feeds it from one query.

- premium: received premium 实收保费 net of reversals, in the rule set's currency (what a premium target
  counts, as in /targets/{id}/achievement and /month-progress) over the agent's premium target;
- new_policies: new policies issued (the `new_policy` facts) over the agent's new-policy target.

The agent's target for a month is their share of each team target of the year times the month's part
of that target (agent share × month share ÷ year amount), summed over the targets that name them and
rounded like an amount of the rule set; for a year it is their share. No share, or a target of zero,
leaves the measure without an achievement: the evidence says so, and the rule set's `missing_target`
says whether the sales part is then derived from the other measures or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from performance_service.models import RuleSet
from performance_service.rules import Rounding, RuleSetBody, SalesScore
from svckit.timeutil import utcnow

# One query: the agent's actuals for the period's months, and each share they hold of a target of the year.
FIGURES = text(
    "SELECT 'premium' AS measure, CAST(NULL AS bigint) AS target_id, CAST(NULL AS bigint) AS team_id,"
    "  coalesce(sum(amount), 0) AS amount, CAST(NULL AS numeric) AS period_share,"
    "  CAST(NULL AS numeric) AS year_amount"
    " FROM performance.fact WHERE agent_id = :agent AND period = ANY(:periods) AND currency = :currency"
    "  AND kind IN ('received_premium', 'reversal')"
    " UNION ALL"
    " SELECT 'new_policies', NULL, NULL, coalesce(sum(policies), 0), NULL, NULL"
    " FROM performance.fact WHERE agent_id = :agent AND period = ANY(:periods) AND kind = 'new_policy'"
    " UNION ALL"
    " SELECT t.metric, t.id, t.team_id, s.amount,"
    "  CASE WHEN CAST(:month AS text) IS NULL THEN t.amount ELSE coalesce(m.amount, 0) END, t.amount"
    " FROM performance.target t"
    " JOIN performance.target_share s ON s.target_id = t.id AND s.level = 'agent' AND s.key = :key"
    " LEFT JOIN performance.target_share m ON m.target_id = t.id AND m.level = 'month'"
    "  AND m.key = CAST(:month AS text)"
    " WHERE t.year = :year AND (t.metric = 'new_policies' OR (t.metric = 'premium' AND t.currency = :currency))"
    " ORDER BY 1, 2")


@dataclass(frozen=True)
class TargetPart:
    """The agent's share of one team target, and the period's part of that target."""

    target_id: int
    team_id: int
    agent_share: Decimal
    period_share: Decimal
    year_amount: Decimal

    def value(self) -> Decimal:
        return self.agent_share * self.period_share / self.year_amount

    def plain(self) -> dict[str, Any]:
        return {"target_id": self.target_id, "team_id": self.team_id, "agent_share": str(self.agent_share),
                "period_share": str(self.period_share), "year_amount": str(self.year_amount)}


@dataclass(frozen=True)
class Figures:
    """What one measure counted for the agent in the period, and the targets that name them."""

    actual: Decimal
    targets: tuple[TargetPart, ...] = ()


@dataclass(frozen=True)
class MeasureResult:
    measure: str
    weight: Decimal
    actual: Decimal
    targets: tuple[TargetPart, ...]
    target: Decimal | None
    achievement: Decimal | None
    score: Decimal | None
    arithmetic: str | None
    reason: str | None

    def plain(self) -> dict[str, Any]:
        def s(v: Decimal | None) -> str | None:
            return None if v is None else str(v)
        return {"measure": self.measure, "weight": str(self.weight), "actual": str(self.actual),
                "target": s(self.target), "target_parts": [t.plain() for t in self.targets],
                "achievement": s(self.achievement), "score": s(self.score), "arithmetic": self.arithmetic,
                "reason": self.reason}


@dataclass(frozen=True)
class SalesDerivation:
    """The sales score when it could be derived (else None, with the reason), and how."""

    score: Decimal | None
    measures: tuple[MeasureResult, ...]
    arithmetic: str | None
    reason: str | None

    def plain(self) -> dict[str, Any]:
        return {"derived": self.score is not None, "score": None if self.score is None else str(self.score),
                "arithmetic": self.arithmetic, "reason": self.reason, "measures": [m.plain() for m in self.measures]}


def _measure(rule: SalesScore, money: Rounding, measure: str, weight: Decimal, figures: Figures) -> MeasureResult:
    def result(target: Decimal | None = None, achievement: Decimal | None = None, score: Decimal | None = None,
               arithmetic: str | None = None, reason: str | None = None) -> MeasureResult:
        return MeasureResult(measure=measure, weight=weight, actual=figures.actual, targets=figures.targets,
                             target=target, achievement=achievement, score=score, arithmetic=arithmetic,
                             reason=reason)

    if not figures.targets:
        return result(reason=f"no {measure} target names the agent for the period")
    target = money.apply(sum((t.value() for t in figures.targets), Decimal(0)))
    if target <= 0:
        return result(target=target, reason=f"the agent's {measure} target for the period is {target}")
    achievement = rule.round(figures.actual / target, 2)
    # Reversals can leave the actual negative: a score is never below zero.
    score = rule.round(min(max(achievement * rule.full_marks, Decimal(0)), rule.cap))
    return result(target=target, achievement=achievement, score=score,
                  arithmetic=f"{figures.actual} ÷ {target} = {achievement}; "
                             f"min(max({achievement} × {rule.full_marks}, 0), {rule.cap}) = {score}")


def derive(rule: SalesScore, money: Rounding, figures: dict[str, Figures]) -> SalesDerivation:
    """Each measure's achievement and score, and the sales part: their weighted sum (over the measures
    with a target only when the rule set says `other_measures`); None with the reason when it cannot be."""
    measures = tuple(_measure(rule, money, m.measure, m.weight, figures.get(m.measure, Figures(Decimal(0))))
                     for m in rule.measures)
    scored = [m for m in measures if m.score is not None]
    missing = [m.reason for m in measures if m.reason is not None]
    if not scored or (missing and rule.missing_target == "entered_score"):
        return SalesDerivation(score=None, measures=measures, arithmetic=None,
                               reason="; ".join(missing) + ": the supervisor's entered sales score is used")
    weight = sum((m.weight for m in scored), Decimal(0))
    total = sum((m.score * m.weight for m in scored if m.score is not None), Decimal(0))
    score = rule.round(total / weight)
    arithmetic = " + ".join(f"{m.score} × {m.weight}" for m in scored)
    if weight != 1:
        arithmetic = f"({arithmetic}) ÷ {weight}"
    return SalesDerivation(score=score, measures=measures, arithmetic=f"{arithmetic} = {score}",
                           reason="; ".join(missing) + ": the other measures share the part" if missing else None)


def months_of(period: str) -> list[str]:
    return [f"{period}-{m:02d}" for m in range(1, 13)] if len(period) == 4 else [period]


async def figures(session: AsyncSession, *, agent_id: int, period: str, currency: str) -> dict[str, Figures]:
    """The agent's actual and target shares per measure for a month or a year."""
    actual: dict[str, Decimal] = {}
    parts: dict[str, list[TargetPart]] = {}
    rows = await session.execute(FIGURES, {
        "agent": agent_id, "periods": months_of(period), "currency": currency, "key": str(agent_id),
        "year": int(period[:4]), "month": period if len(period) == 7 else None})
    for r in rows:
        if r.target_id is None:
            actual[r.measure] = Decimal(r.amount)
        else:
            parts.setdefault(r.measure, []).append(TargetPart(
                target_id=int(r.target_id), team_id=int(r.team_id), agent_share=Decimal(r.amount),
                period_share=Decimal(r.period_share), year_amount=Decimal(r.year_amount)))
    return {m: Figures(actual.get(m, Decimal(0)), tuple(parts.get(m, ()))) for m in actual.keys() | parts.keys()}


async def evidence_for(session: AsyncSession, *, agent_id: int, period: str, rule_set: RuleSet
                       ) -> tuple[SalesDerivation, dict[str, Any]]:
    """The derivation for the agent and period under `rule_set`, and the evidence an assessment keeps."""
    body = RuleSetBody.model_validate(rule_set.body)
    found = derive(body.sales_score, body.rounding,
                   await figures(session, agent_id=agent_id, period=period, currency=body.currency))
    return found, {"period": period, "currency": body.currency, "rule_set_id": rule_set.id,
                   "rule_set_version": rule_set.version, "rule": body.sales_score.model_dump(mode="json"),
                   "computed_at": utcnow().isoformat(), **found.plain()}
