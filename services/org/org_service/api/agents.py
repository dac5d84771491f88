"""Agents: hiring, moves, rank changes, leaving, and the hierarchy around them as of any date."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, Query, Request
from fastapi.responses import StreamingResponse

from org_service import access, agents, positions, queries
from org_service.api.deps import ManagersOnly, ScopeDep, actor_of, as_of
from org_service.models import Agent, AgentPosition
from org_service.schemas import (
    AgentCreate,
    AgentRead,
    ChainLinkRead,
    Leaving,
    LineageMemberRead,
    PositionChange,
    PositionRead,
    RankChange,
    ScopeRead,
    SubtreeRead,
)
from svckit.errors import Forbidden, Unprocessable
from svckit.idempotency import IdempotencyDep
from svckit.internal_auth import CallerDep
from svckit.kit import kit_of
from svckit.routing import SessionDep, service_router
from svckit.scope import DataScope

router = service_router(prefix="/v1", tags=["agents"])


async def _targets_in_scope(session: SessionDep, scope: DataScope, institution_id: int | None, team_id: int | None,
                            supervisor_id: int | None) -> None:
    """Where an agent is put must be inside the caller's scope too. A reference in the body that the
    caller cannot see is an invalid value (422), told apart from nothing that does not exist."""
    hidden = await access.first_hidden_target(session, scope, institution_id=institution_id, team_id=team_id,
                                              supervisor_id=supervisor_id)
    if hidden is not None:
        name, ref = hidden
        raise Unprocessable(f"{name} {ref} does not exist", code=f"{name}_not_found", field=f"{name}_id")


@router.get("/scope", response_model=ScopeRead)
async def my_scope(session: SessionDep, caller: CallerDep) -> ScopeRead:
    """What the calling end user may see: themself, their subtree, their institutions, or everything."""
    scope = await access.scope_for(session, caller)
    return ScopeRead(everything=scope.everything, agent_id=scope.agent_id, subtree=scope.subtree,
                     institutions=sorted(scope.institutions), company_wide=scope.company_wide)
AsOf = Annotated[date, Depends(as_of)]


async def _agent_read(session: SessionDep, agent: Agent, on: date) -> AgentRead:
    position = await positions.position_on(session, agent.id, on)
    return AgentRead.model_validate({
        **{c: getattr(agent, c) for c in ("id", "code", "name", "licence_no", "hire_date", "status", "left_on",
                                         "home_institution_id")},
        "position": PositionRead.model_validate(position) if position else None,
    })


@router.post("/agents", response_model=AgentRead, status_code=201, dependencies=[ManagersOnly])
async def hire_agent(body: AgentCreate, session: SessionDep, caller: CallerDep, scope: ScopeDep,
                     _: IdempotencyDep) -> AgentRead:
    """Register an agent from their hire date: position, rank and bloodline."""
    await _targets_in_scope(session, scope, body.institution_id, body.team_id, body.supervisor_id)
    agent = await agents.hire(session, actor_of(caller), **body.model_dump())
    return await _agent_read(session, agent, body.hire_date)


@router.get("/agents/{agent_id}", response_model=AgentRead)
async def read_agent(agent_id: int, session: SessionDep, scope: ScopeDep, on: AsOf) -> AgentRead:
    """An agent and where they stand on the date asked."""
    await access.require_agent(session, scope, agent_id)
    return await _agent_read(session, await agents.get_agent(session, agent_id), on)


@router.post("/agents/{agent_id}/moves", response_model=PositionRead, dependencies=[ManagersOnly])
async def move_agent(agent_id: int, body: PositionChange, session: SessionDep, caller: CallerDep,
                     scope: ScopeDep) -> AgentPosition:
    """Change supervisor, team or institution from a date on; the people below follow."""
    await access.require_agent(session, scope, agent_id)
    await _targets_in_scope(session, scope, body.institution_id, body.team_id, body.supervisor_id)
    changes = {k: getattr(body, k) for k in body.model_fields_set & {"supervisor_id", "team_id", "institution_id"}}
    return await agents.move(session, actor_of(caller), agent_id, effective_on=body.effective_on, changes=changes,
                             reason=body.reason)


@router.post("/agents/{agent_id}/rank-changes", response_model=PositionRead, dependencies=[ManagersOnly])
async def change_rank(agent_id: int, body: RankChange, session: SessionDep, caller: CallerDep,
                      scope: ScopeDep) -> AgentPosition:
    """Apply a promotion, maintenance or demotion from a date on."""
    await access.require_agent(session, scope, agent_id)
    return await agents.change_rank(session, actor_of(caller), agent_id, **body.model_dump())


@router.post("/agents/{agent_id}/leave", response_model=AgentRead, dependencies=[ManagersOnly])
async def leave(agent_id: int, body: Leaving, session: SessionDep, caller: CallerDep, scope: ScopeDep) -> AgentRead:
    """The agent leaves: relations end on the date and other services are told."""
    await access.require_agent(session, scope, agent_id)
    agent = await agents.leave(session, actor_of(caller), agent_id, **body.model_dump())
    return await _agent_read(session, agent, body.effective_on)


@router.get("/agents/{agent_id}/chain", response_model=list[ChainLinkRead])
async def supervisor_chain(agent_id: int, session: SessionDep, scope: ScopeDep, on: AsOf) -> list[queries.ChainLink]:
    """The agent's supervisors, direct supervisor first, as of the date."""
    return await queries.supervisor_chain(session, scope, agent_id, on)


@router.get("/agents/{agent_id}/subtree", response_model=SubtreeRead)
async def subtree(agent_id: int, session: SessionDep, scope: ScopeDep, on: AsOf) -> SubtreeRead:
    """Headcount below the agent by rank, as of the date (from maintained rollups)."""
    below = await queries.subtree(session, scope, agent_id, on)
    return SubtreeRead(agent_id=agent_id, on=on, headcount_by_rank=below.headcount_by_rank,
                       headcount=sum(below.headcount_by_rank.values()), direct_reports=below.direct_reports)


@router.get("/agents/{agent_id}/bloodline", response_model=list[LineageMemberRead])
async def bloodline(
    agent_id: int, session: SessionDep, scope: ScopeDep,
    kind: Annotated[Literal["recruiter", "nurturer"], Query(description="recruited 增员 or nurtured 育成")],
    generations: Annotated[int, Query(ge=1, le=20)] = 10,
) -> list[dict[str, object]]:
    """Everyone the agent recruited or nurtured, directly and indirectly, with generation numbers
    (only those the caller may see)."""
    await access.require_agent(session, scope, agent_id)
    await agents.get_agent(session, agent_id)
    members = await queries.bloodline(session, agent_id, kind, generations)
    visible = await access.visible_agents(session, scope, [m["agent_id"] for m in members])
    return [m for m in members if m["agent_id"] in visible]


@router.get("/snapshot", response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}},
                             "description": "One JSON object per line: every position in force on the date"}})
async def hierarchy_snapshot(
    request: Request, session: SessionDep, scope: ScopeDep, on: AsOf,
    institution_id: Annotated[int | None, Query(description="Limit to this institution's subtree")] = None,
) -> StreamingResponse:
    """The complete effective hierarchy on a date, streamed as NDJSON (for settlement)."""
    if institution_id is not None:
        await access.require_institution(session, scope, institution_id)
    elif not scope.everything:
        raise Forbidden("the whole company's snapshot is for administrators and services; name an institution",
                        code="scope_too_narrow", field="institution_id")
    engine = kit_of(request).db.engine

    async def lines() -> AsyncIterator[str]:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="REPEATABLE READ")
            async for chunk in queries.snapshot(connection, institution_id, on):
                yield chunk

    return StreamingResponse(lines(), media_type="application/x-ndjson")
