"""Contests with rules and prizes, and their standings."""

from __future__ import annotations

from typing import Any

from performance_service import access, contests
from performance_service.api.deps import RuleMakers, ScopeDep, actor_of
from performance_service.models import DIRECTORY, Contest, Fact
from performance_service.schemas import ContestCreate, ContestRead, StandingRow
from svckit import directory
from svckit.errors import NotFound, Unprocessable
from svckit.internal_auth import CallerDep
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1/contests", tags=["rankings"])


@router.post("", response_model=ContestRead, status_code=201, dependencies=[RuleMakers])
async def create_contest(body: ContestCreate, session: SessionDep, caller: CallerDep, scope: ScopeDep) -> Contest:
    """Announce a contest: its metric, months, institution and prizes (by place and by threshold)."""
    if body.period_to < body.period_from:
        raise Unprocessable("the contest ends before it begins", code="dates_out_of_order", field="period_to")
    if not await directory.allows(session, scope, DIRECTORY, agent_id=None, institution_id=body.institution_id):
        raise NotFound(f"institution {body.institution_id} does not exist", code="institution_not_found",
                       field="institution_id")
    rules = contests.parse(body.rules)
    contest = Contest(**body.model_dump(exclude={"rules"}), rules=rules.model_dump(mode="json"),
                      created_by=actor_of(caller))
    session.add(contest)
    await session.flush()
    await session.refresh(contest)
    return contest


@router.get("/{contest_id}", response_model=ContestRead)
async def read_contest(contest_id: int, session: SessionDep) -> Contest:
    """A contest and its rules (announced to everyone)."""
    return await contests.get(session, contest_id)


@router.get("/{contest_id}/standings", response_model=list[StandingRow])
async def standings(contest_id: int, session: SessionDep, scope: ScopeDep) -> list[dict[str, Any]]:
    """Places and prizes so far, among the contestants the caller may see; ties share a place."""
    contest = await contests.get(session, contest_id)
    return await contests.standings(session, contest, access.condition(scope, Fact.agent_id, Fact.institution_id))
