"""Disputes of statement lines: agent → supervisor review → finance decision → adjustment in a later run."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from sqlalchemy import select

from performance_service import access, disputes
from performance_service.api.deps import FinanceOnly, Reviewers, ScopeDep, actor_of
from performance_service.models import Dispute
from performance_service.schemas import DisputeCreate, DisputeRead, FinanceDecision, SupervisorReview
from svckit.errors import Forbidden
from svckit.internal_auth import CallerDep
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1/disputes", tags=["disputes"])


async def _visible(session: SessionDep, scope: ScopeDep, dispute_id: int, *, lock: bool = False) -> Dispute:
    found = await disputes.get(session, dispute_id, lock=lock)
    await access.require_agent(session, scope, found.agent_id, what="dispute", object_id=dispute_id,
                               field="dispute_id")
    return found


@router.post("", response_model=DisputeRead, status_code=201)
async def raise_dispute(body: DisputeCreate, session: SessionDep, caller: CallerDep, scope: ScopeDep) -> Dispute:
    """An agent disputes one line of their own statement."""
    agent = await access.require_agent(session, scope, body.agent_id, what="statement")
    if not scope.everything and scope.agent_id != body.agent_id:
        raise Forbidden("an agent disputes their own statement", code="not_own_statement", field="agent_id")
    return await disputes.raise_dispute(session, run_id=body.run_id, agent_id=body.agent_id, line_no=body.line_no,
                                        reason=body.reason, institution_id=int(agent.institution_id),
                                        actor=actor_of(caller))


@router.get("", response_model=list[DisputeRead])
async def list_disputes(session: SessionDep, scope: ScopeDep,
                        status: Annotated[str | None, Query(max_length=30)] = None) -> list[Dispute]:
    """Disputes the caller may see, newest first."""
    query = select(Dispute).where(access.condition(scope, Dispute.agent_id, Dispute.institution_id))
    if status is not None:
        query = query.where(Dispute.status == status)
    return list((await session.execute(query.order_by(Dispute.id.desc()).limit(500))).scalars())


@router.get("/{dispute_id}", response_model=DisputeRead)
async def read_dispute(dispute_id: int, session: SessionDep, scope: ScopeDep) -> Dispute:
    """One dispute."""
    return await _visible(session, scope, dispute_id)


@router.post("/{dispute_id}/supervisor-review", response_model=DisputeRead, dependencies=[Reviewers])
async def supervisor_review(dispute_id: int, body: SupervisorReview, session: SessionDep, caller: CallerDep,
                            scope: ScopeDep) -> Dispute:
    """The agent's supervisor (someone above them) reviews the dispute."""
    found = await _visible(session, scope, dispute_id, lock=True)
    if scope.agent_id == found.agent_id:
        raise Forbidden("an agent does not review their own dispute", code="own_dispute", field="dispute_id")
    return await disputes.supervisor_review(session, found, endorse=body.endorse, note=body.note,
                                            actor=actor_of(caller))


@router.post("/{dispute_id}/finance-decision", response_model=DisputeRead, dependencies=[FinanceOnly])
async def finance_decision(dispute_id: int, body: FinanceDecision, session: SessionDep, caller: CallerDep,
                           scope: ScopeDep) -> Dispute:
    """Finance accepts (with the adjustment the next final run pays) or rejects the dispute."""
    found = await _visible(session, scope, dispute_id, lock=True)
    return await disputes.finance_decision(session, found, accept=body.accept, adjustment=body.adjustment,
                                           note=body.note, actor=actor_of(caller))
