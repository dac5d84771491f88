"""KPI and assessment 考核 (seed 001, 003): an agent evaluates themself, their supervisor evaluates them,
marketing management consolidates with the rule set's weights (sales / ability / attitude, 50/30/20
by default), and the supervisor records the feedback interview. The sales part is a measured result:
when the rule set's `sales_score` derives it from the facts and the agent's targets (sales.py), the
derived score is consolidated in place of the supervisor's, which stays on record as their view.
A promotion 晋升 or maintenance 维持 assessment checks the rule set's conditions (with org's count-back)
and proposes the rank change, which is sent to org once."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from performance_service import gaps, sales
from performance_service.models import Assessment
from performance_service.rules import KpiWeights, RuleSetBody
from svckit.db import flush_or_refuse
from svckit.errors import Conflict, NotFound, Unprocessable
from svckit.timeutil import utcnow

ORDER = ["self_evaluation", "supervisor_evaluation", "consolidated", "feedback_done"]
PART = ("sales", "ability", "attitude")


async def open_assessment(session: AsyncSession, *, agent_id: int, institution_id: int, rank_code: str, kind: str,
                          period: str, actor: str, count_back: list[dict[str, Any]]) -> Assessment:
    conditions = None
    if kind in ("promotion", "maintenance"):
        conditions = await gaps.gap(session, agent_id=agent_id, rank_code=rank_code, period=period, kind=kind,
                                    count_back=count_back)
    _, evidence = await sales.evidence_for(session, agent_id=agent_id, period=period,
                                           rule_set=await gaps.rule_set_at(session, _rule_month(period)))
    found = Assessment(agent_id=agent_id, institution_id=institution_id, kind=kind, period=period,
                       rank_code=rank_code, created_by=actor, sales_evidence=evidence,
                       conditions=_plain(conditions) if conditions is not None else None)
    session.add(found)
    await flush_or_refuse(session, Conflict(f"agent {agent_id} already has a {kind} assessment for {period}",
                                            code="assessment_exists", field="period"))
    await session.refresh(found)
    return found


def _rule_month(period: str) -> str:
    """The month whose rule set applies: the period's, or a year's December."""
    return period if len(period) == 7 else f"{period}-12"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


async def get(session: AsyncSession, assessment_id: int, *, lock: bool = False) -> Assessment:
    found = await session.get(Assessment, assessment_id, with_for_update=lock)
    if found is None:
        raise NotFound(f"assessment {assessment_id} does not exist", code="assessment_not_found",
                       field="assessment_id")
    return found


def _at(found: Assessment, status: str) -> None:
    if found.status != status:
        raise Conflict(f"assessment {found.id} is at {found.status}, not {status}", code="assessment_out_of_order",
                       field="assessment_id", at=found.status)


def _scores(scores: dict[str, Decimal]) -> dict[str, str]:
    return {k: str(scores[k]) for k in PART}


async def self_evaluation(session: AsyncSession, found: Assessment, scores: dict[str, Decimal],
                          comment: str) -> Assessment:
    _at(found, "self_evaluation")
    found.self_scores, found.self_comment, found.status = _scores(scores), comment, "supervisor_evaluation"
    await session.flush()
    return found


async def supervisor_evaluation(session: AsyncSession, found: Assessment, scores: dict[str, Decimal],
                                comment: str, actor: str) -> Assessment:
    _at(found, "supervisor_evaluation")
    found.supervisor_scores, found.supervisor_comment, found.supervisor_by = _scores(scores), comment, actor
    await session.flush()
    return found


def weighted(weights: KpiWeights, scores: dict[str, Any]) -> Decimal:
    """The consolidated score: each part's score times its weight, to two decimals, half up (四舍五入)."""
    total = sum((Decimal(scores[k]) * getattr(weights, k) for k in PART), Decimal(0))
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def consolidated_scores(entered: dict[str, Any], derived: Decimal | None) -> tuple[dict[str, str], str]:
    """The part scores consolidation weights, and where the sales score came from: the derived one when
    there is one, else the supervisor's; ability and attitude are always the supervisor's."""
    scores = {k: str(entered[k]) for k in PART}
    if derived is None:
        return scores, "entered"
    return {**scores, "sales": str(derived)}, "derived"


def proposal_for(found: Assessment, conditions: dict[str, Any] | None, on_failure_rank: str | None
                 ) -> dict[str, Any] | None:
    """The rank change a promotion or maintenance assessment proposes to org (none for a failed
    promotion, or a failed maintenance without a demotion rank: an improvement plan)."""
    if conditions is None:
        return None
    if conditions["met"]:
        kind = "promotion" if found.kind == "promotion" else "maintenance"
        return {"kind": kind, "rank_code": conditions["target_rank"]}
    if found.kind == "maintenance" and on_failure_rank is not None:
        return {"kind": "demotion", "rank_code": on_failure_rank}
    return None


async def consolidate(session: AsyncSession, found: Assessment, actor: str) -> Assessment:
    _at(found, "supervisor_evaluation")
    if found.supervisor_scores is None:
        raise Conflict(f"assessment {found.id} waits for the supervisor's evaluation", code="assessment_out_of_order",
                       field="assessment_id", at=found.status)
    rule_set = await gaps.rule_set_at(session, _rule_month(found.period))
    body = RuleSetBody.model_validate(rule_set.body)
    # Derived again from the facts as they stand now (a late receipt counts in its own month).
    derived, found.sales_evidence = await sales.evidence_for(session, agent_id=found.agent_id, period=found.period,
                                                             rule_set=rule_set)
    found.consolidated_scores, found.sales_source = consolidated_scores(found.supervisor_scores, derived.score)
    found.weights = body.kpi_weights.model_dump(mode="json")
    found.score = weighted(body.kpi_weights, found.consolidated_scores)
    if found.conditions is not None:
        condition = gaps.condition_for(body, found.rank_code, found.kind)
        found.proposal = proposal_for(found, found.conditions, condition.on_failure_rank)
    found.consolidated_by, found.status = actor, "consolidated"
    await session.flush()
    return found


async def feedback(session: AsyncSession, found: Assessment, note: str, actor: str) -> Assessment:
    _at(found, "consolidated")
    found.feedback, found.feedback_by, found.status = note, actor, "feedback_done"
    await session.flush()
    return found


def rank_change(found: Assessment, effective_on: str) -> dict[str, Any]:
    """The body of org's rank change for the proposal; refused if there is none or it was sent."""
    if found.status not in ("consolidated", "feedback_done") or not found.proposal:
        raise Unprocessable(f"assessment {found.id} proposes no rank change", code="no_proposal",
                            field="assessment_id")
    if found.sent_to_org_at is not None:
        raise Conflict(f"the proposal of assessment {found.id} was sent on {found.sent_to_org_at}",
                       code="proposal_already_sent", field="assessment_id")
    return {"effective_on": effective_on, "rank_code": found.proposal["rank_code"], "kind": found.proposal["kind"],
            "reason": f"performance {found.kind} assessment {found.id} ({found.period}), score {found.score}"}


async def mark_sent(session: AsyncSession, found: Assessment) -> Assessment:
    found.sent_to_org_at = utcnow()
    await session.flush()
    return found
