"""KPI and assessment: self → supervisor → consolidation → feedback, and rank-change proposals to org."""

from __future__ import annotations

from typing import Any

from fastapi import Query
from sqlalchemy import select

from performance_service import access, assessments, gaps, upstream
from performance_service.api.deps import RuleMakers, ScopeDep, UpstreamsDep, actor_of
from performance_service.models import Assessment
from performance_service.runs import period_bounds
from performance_service.schemas import AssessmentCreate, AssessmentRead, Evaluation, Feedback, ProposalSend
from svckit.errors import Forbidden, Unprocessable
from svckit.internal_auth import Caller, CallerDep, require_roles
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1/assessments", tags=["assessment"])
Supervisors = require_roles("admin", "supervisor", "marketing_management")


async def _visible(session: SessionDep, scope: ScopeDep, assessment_id: int, *, lock: bool = True) -> Assessment:
    found = await assessments.get(session, assessment_id, lock=lock)
    await access.require_agent(session, scope, found.agent_id, what="assessment", object_id=assessment_id,
                               field="assessment_id")
    return found


def _not_own(caller: Caller, found: Assessment) -> None:
    if caller.scope.agent_id == found.agent_id:
        raise Forbidden("an agent does not evaluate or consolidate their own assessment", code="own_assessment",
                        field="assessment_id")


@router.post("", response_model=AssessmentRead, status_code=201, dependencies=[Supervisors])
async def open_assessment(body: AssessmentCreate, session: SessionDep, caller: CallerDep, scope: ScopeDep,
                          up: UpstreamsDep) -> Assessment:
    """Open an agent's assessment for a period; a promotion or maintenance one checks the rule set's
    conditions at once (with the teams org counts back)."""
    annual = body.kind == "annual"
    if annual != (len(body.period) == 4):
        raise Unprocessable("an annual assessment names a year, the others a month", code="period_kind_mismatch",
                            field="period")
    agent = await access.require_agent(session, scope, body.agent_id)
    if scope.agent_id == body.agent_id:
        raise Forbidden("an agent's assessment is opened by their supervisor", code="own_assessment",
                        field="agent_id")
    count_back: list[dict[str, Any]] = []
    if body.kind in ("promotion", "maintenance") and up.org is not None:
        condition = gaps.condition_for(await gaps.rules_at(session, body.period), agent.rank_code, body.kind)
        first, _ = period_bounds(gaps.window(body.period, condition.months)[0])
        _, last = period_bounds(body.period)
        response = await up.org.request("GET", f"/v1/agents/{body.agent_id}/count-back", params={
            "period_start": first.isoformat(), "period_end": last.isoformat(), "assessment": body.kind})
        if response.status_code != 200:
            raise upstream.refused("org", response)
        count_back = response.json()
    return await assessments.open_assessment(
        session, agent_id=body.agent_id, institution_id=int(agent.institution_id), rank_code=agent.rank_code,
        kind=body.kind, period=body.period, actor=actor_of(caller), count_back=count_back)


@router.get("", response_model=list[AssessmentRead])
async def list_assessments(session: SessionDep, scope: ScopeDep, agent_id: int | None = None,
                           period: str | None = Query(default=None, max_length=7)) -> list[Assessment]:
    """Assessments the caller may see, newest first."""
    query = select(Assessment).where(access.condition(scope, Assessment.agent_id, Assessment.institution_id))
    if agent_id is not None:
        query = query.where(Assessment.agent_id == agent_id)
    if period is not None:
        query = query.where(Assessment.period == period)
    return list((await session.execute(query.order_by(Assessment.id.desc()).limit(500))).scalars())


@router.get("/{assessment_id}", response_model=AssessmentRead)
async def read_assessment(assessment_id: int, session: SessionDep, scope: ScopeDep) -> Assessment:
    """One assessment with its scores, conditions and proposal."""
    return await _visible(session, scope, assessment_id, lock=False)


@router.post("/{assessment_id}/self-evaluation", response_model=AssessmentRead)
async def self_evaluation(assessment_id: int, body: Evaluation, session: SessionDep, scope: ScopeDep) -> Assessment:
    """The agent evaluates themself (自评)."""
    found = await _visible(session, scope, assessment_id)
    if scope.agent_id != found.agent_id:
        raise Forbidden("only the agent evaluates themself", code="not_own_assessment", field="assessment_id")
    return await assessments.self_evaluation(session, found, body.scores.model_dump(), body.comment)


@router.post("/{assessment_id}/supervisor-evaluation", response_model=AssessmentRead, dependencies=[Supervisors])
async def supervisor_evaluation(assessment_id: int, body: Evaluation, session: SessionDep, caller: CallerDep,
                                scope: ScopeDep) -> Assessment:
    """The supervisor evaluates the agent (上级评价)."""
    found = await _visible(session, scope, assessment_id)
    _not_own(caller, found)
    return await assessments.supervisor_evaluation(session, found, body.scores.model_dump(), body.comment,
                                                   actor_of(caller))


@router.post("/{assessment_id}/consolidation", response_model=AssessmentRead, dependencies=[RuleMakers])
async def consolidate(assessment_id: int, session: SessionDep, caller: CallerDep, scope: ScopeDep) -> Assessment:
    """Marketing management consolidates (汇总): the weighted score, and the rank change proposed."""
    found = await _visible(session, scope, assessment_id)
    _not_own(caller, found)
    return await assessments.consolidate(session, found, actor_of(caller))


@router.post("/{assessment_id}/feedback", response_model=AssessmentRead, dependencies=[Supervisors])
async def feedback(assessment_id: int, body: Feedback, session: SessionDep, caller: CallerDep,
                   scope: ScopeDep) -> Assessment:
    """The feedback interview 反馈面谈 is recorded."""
    found = await _visible(session, scope, assessment_id)
    _not_own(caller, found)
    return await assessments.feedback(session, found, body.note, actor_of(caller))


@router.post("/{assessment_id}/proposal", response_model=AssessmentRead, dependencies=[RuleMakers])
async def send_proposal(assessment_id: int, body: ProposalSend, session: SessionDep, caller: CallerDep,
                        scope: ScopeDep, up: UpstreamsDep) -> Assessment:
    """Send the proposed promotion, maintenance or demotion to org, once."""
    found = await _visible(session, scope, assessment_id)
    change = assessments.rank_change(found, body.effective_on.isoformat())
    org = up.need_org()
    # Performance applies it as itself, naming the person who decided (org records them).
    acting = Caller(service="performance", username=f"{actor_of(caller)} (performance assessment {found.id})",
                    roles=frozenset({"marketing_management"}))
    response = await org.request("POST", f"/v1/agents/{found.agent_id}/rank-changes", caller=acting, json=change,
                                 idempotency_key=f"assessment-{found.id}")
    if response.status_code != 200:
        raise upstream.refused("org", response)
    return await assessments.mark_sent(session, found)
