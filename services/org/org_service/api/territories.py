"""Territories and channels of agents; who owns a territory (for routing inbound enquiries)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Depends

from org_service import access, agents, territories
from org_service.api.deps import ManagersOnly, ScopeDep, as_of
from org_service.models import AgentTerritory
from org_service.schemas import Schema
from svckit.errors import NotFound
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1", tags=["territories"])
AsOf = Annotated[date, Depends(as_of)]
Kind = Literal["territory", "channel"]


class TerritoryAssign(Schema):
    kind: Kind
    code: str
    effective_on: date


class TerritoryEnd(Schema):
    kind: Kind
    code: str
    effective_on: date


class TerritoryRead(Schema):
    agent_id: int
    kind: Kind
    code: str
    valid_from: date
    valid_to: date | None


@router.post("/agents/{agent_id}/territories", response_model=TerritoryRead, status_code=201,
             dependencies=[ManagersOnly])
async def assign(agent_id: int, body: TerritoryAssign, session: SessionDep, scope: ScopeDep) -> AgentTerritory:
    """Give an agent a territory (one owner at a time) or a channel from a date on."""
    await access.require_agent(session, scope, agent_id)
    await agents.require_active(session, agent_id)
    return await territories.assign(session, agent_id, body.kind, body.code, body.effective_on)


@router.post("/agents/{agent_id}/territories/end", response_model=TerritoryRead, dependencies=[ManagersOnly])
async def end(agent_id: int, body: TerritoryEnd, session: SessionDep, scope: ScopeDep) -> AgentTerritory:
    """End an agent's territory or channel on a date."""
    await access.require_agent(session, scope, agent_id)
    return await territories.end(session, agent_id, body.kind, body.code, body.effective_on)


@router.get("/agents/{agent_id}/territories", response_model=list[TerritoryRead])
async def held(agent_id: int, session: SessionDep, scope: ScopeDep, on: AsOf) -> list[AgentTerritory]:
    """The territories and channels an agent works on a date."""
    await access.require_agent(session, scope, agent_id)
    return await territories.held_on(session, agent_id, on)


@router.get("/territories/{code}/owner", response_model=TerritoryRead)
async def owner(code: str, session: SessionDep, scope: ScopeDep, on: AsOf) -> AgentTerritory:
    """Who owns a territory on a date: inbound enquiries from it are assigned to them."""
    row = await territories.owner_of(session, code, on)
    if row is None:
        raise NotFound(f"nobody owns territory {code!r} on {on}", code="territory_unowned")
    await access.require_agent(session, scope, row.agent_id)
    return row
