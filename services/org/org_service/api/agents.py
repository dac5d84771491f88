"""Agents: hiring, moves, rank changes, leaving, and the hierarchy around them as of any date."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, Query, Request
from fastapi.responses import StreamingResponse

from org_service import agents, positions, queries
from org_service.api.deps import ManagersOnly, StaffOnly, actor_of, as_of
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
    SubtreeRead,
)
from svckit.idempotency import IdempotencyDep
from svckit.internal_auth import CallerDep
from svckit.kit import kit_of
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1", tags=["agents"])
AsOf = Annotated[date, Depends(as_of)]


async def _agent_read(session: SessionDep, agent: Agent, on: date) -> AgentRead:
    position = await positions.position_on(session, agent.id, on)
    return AgentRead.model_validate({
        **{c: getattr(agent, c) for c in ("id", "code", "name", "licence_no", "hire_date", "status", "left_on",
                                         "home_institution_id")},
        "position": PositionRead.model_validate(position) if position else None,
    })


@router.post("/agents", response_model=AgentRead, status_code=201, dependencies=[ManagersOnly])
async def hire_agent(body: AgentCreate, session: SessionDep, caller: CallerDep, _: IdempotencyDep) -> AgentRead:
    """Register an agent from their hire date: position, rank and bloodline."""
    agent = await agents.hire(session, actor_of(caller), **body.model_dump())
    return await _agent_read(session, agent, body.hire_date)


@router.get("/agents/{agent_id}", response_model=AgentRead, dependencies=[StaffOnly])
async def read_agent(agent_id: int, session: SessionDep, on: AsOf) -> AgentRead:
    """An agent and where they stand on the date asked."""
    return await _agent_read(session, await agents.get_agent(session, agent_id), on)


@router.post("/agents/{agent_id}/moves", response_model=PositionRead, dependencies=[ManagersOnly])
async def move_agent(agent_id: int, body: PositionChange, session: SessionDep, caller: CallerDep) -> AgentPosition:
    """Change supervisor, team or institution from a date on; the people below follow."""
    changes = {k: getattr(body, k) for k in body.model_fields_set & {"supervisor_id", "team_id", "institution_id"}}
    return await agents.move(session, actor_of(caller), agent_id, effective_on=body.effective_on, changes=changes,
                             reason=body.reason)


@router.post("/agents/{agent_id}/rank-changes", response_model=PositionRead, dependencies=[ManagersOnly])
async def change_rank(agent_id: int, body: RankChange, session: SessionDep, caller: CallerDep) -> AgentPosition:
    """Apply a promotion, maintenance or demotion from a date on."""
    return await agents.change_rank(session, actor_of(caller), agent_id, **body.model_dump())


@router.post("/agents/{agent_id}/leave", response_model=AgentRead, dependencies=[ManagersOnly])
async def leave(agent_id: int, body: Leaving, session: SessionDep, caller: CallerDep) -> AgentRead:
    """The agent leaves: relations end on the date and other services are told."""
    agent = await agents.leave(session, actor_of(caller), agent_id, **body.model_dump())
    return await _agent_read(session, agent, body.effective_on)


@router.get("/agents/{agent_id}/chain", response_model=list[ChainLinkRead], dependencies=[StaffOnly])
async def supervisor_chain(agent_id: int, session: SessionDep, on: AsOf) -> list[queries.ChainLink]:
    """The agent's supervisors, direct supervisor first, as of the date."""
    return await queries.supervisor_chain(session, agent_id, on)


@router.get("/agents/{agent_id}/subtree", response_model=SubtreeRead, dependencies=[StaffOnly])
async def subtree(agent_id: int, session: SessionDep, on: AsOf) -> SubtreeRead:
    """Headcount below the agent by rank, as of the date (from maintained rollups)."""
    by_rank = await queries.subtree_headcount(session, agent_id, on)
    reports = await queries.direct_reports(session, agent_id, on)
    return SubtreeRead(agent_id=agent_id, on=on, headcount_by_rank=by_rank, headcount=sum(by_rank.values()),
                       direct_reports=len(reports))


@router.get("/agents/{agent_id}/bloodline", response_model=list[LineageMemberRead], dependencies=[StaffOnly])
async def bloodline(
    agent_id: int, session: SessionDep,
    kind: Annotated[Literal["recruiter", "nurturer"], Query(description="recruited 增员 or nurtured 育成")],
    generations: Annotated[int, Query(ge=1, le=20)] = 10,
) -> list[dict[str, object]]:
    """Everyone the agent recruited or nurtured, directly and indirectly, with generation numbers."""
    await agents.get_agent(session, agent_id)
    return await queries.bloodline(session, agent_id, kind, generations)


@router.get("/snapshot", dependencies=[StaffOnly], response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}},
                             "description": "One JSON object per line: every position in force on the date"}})
async def hierarchy_snapshot(
    request: Request, on: AsOf,
    institution_id: Annotated[int | None, Query(description="Limit to this institution's subtree")] = None,
) -> StreamingResponse:
    """The complete effective hierarchy on a date, streamed as NDJSON (for settlement)."""
    engine = kit_of(request).db.engine

    async def lines() -> AsyncIterator[str]:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="REPEATABLE READ")
            async for row in queries.snapshot(connection, institution_id, on):
                yield json.dumps(row, default=str, ensure_ascii=False) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")
