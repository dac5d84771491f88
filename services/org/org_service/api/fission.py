"""Fission policy, peer-level separations and count-back answers for assessments."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, Query

from org_service import access, agents, fission
from org_service.api.deps import AdminOnly, ManagersOnly, ScopeDep, StaffOnly, actor_of, as_of
from org_service.models import FissionPolicy, TeamSeparation
from org_service.schemas import (
    CountBackRead,
    FissionPolicyCreate,
    FissionPolicyRead,
    SeparationRead,
    SeparationReturn,
)
from svckit.internal_auth import CallerDep
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1", tags=["fission"])


@router.get("/fission-policy", response_model=FissionPolicyRead, dependencies=[StaffOnly])
async def fission_policy(session: SessionDep, on: Annotated[date, Depends(as_of)]) -> FissionPolicy:
    """The fission policy in force on a date (default today)."""
    return await fission.policy_on(session, on)


@router.post("/fission-policies", response_model=FissionPolicyRead, status_code=201, dependencies=[AdminOnly])
async def new_fission_policy(body: FissionPolicyCreate, session: SessionDep, caller: CallerDep) -> FissionPolicy:
    """Put a new policy version in force from a date (never before the version in force began)."""
    values = body.model_dump(exclude={"valid_from"})
    return await fission.set_policy(session, actor_of(caller).name, body.valid_from, values)


@router.get("/agents/{agent_id}/count-back", response_model=list[CountBackRead])
async def count_back(
    agent_id: int, session: SessionDep, scope: ScopeDep,
    period_start: Annotated[date, Query(description="First day of the assessment period")],
    period_end: Annotated[date, Query(description="Day after the last day of the period")],
    assessment: Annotated[Literal["promotion", "maintenance"], Query()],
) -> list[fission.CountBack]:
    """Teams that count back 回算 to this nurturer for the period, why, and at what share."""
    await access.require_agent(session, scope, agent_id)
    await agents.get_agent(session, agent_id)
    return await fission.count_back(session, agent_id, period_start, period_end, assessment)


@router.post("/separations/{separation_id}/return", response_model=SeparationRead, dependencies=[ManagersOnly])
async def return_team(separation_id: int, body: SeparationReturn, session: SessionDep, caller: CallerDep,
                      scope: ScopeDep) -> TeamSeparation:
    """Bring a separated team back under its nurturer, where its policy allows (分离可回归)."""
    record = await session.get(TeamSeparation, separation_id)
    if record is not None:
        await access.require_agent(session, scope, record.nurtured_agent_id)

    async def back(team_head: int, nurturer: int | None, on: date) -> None:
        await agents.move(session, actor_of(caller), team_head, effective_on=on, changes={"supervisor_id": nurturer},
                          reason="fission: the separated team returned")

    return await fission.return_team(session, separation_id, body.effective_on, back)
