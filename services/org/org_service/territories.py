"""Territories 辖区 and channels 渠道 an agent works, over time."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from org_service import rules
from org_service.models import PLATFORM_TABLES, AgentTerritory
from svckit.db import flush_or_refuse
from svckit.errors import Conflict, NotFound
from svckit.outbox import append_event


async def assign(session: AsyncSession, agent_id: int, kind: str, code: str, effective_on: date) -> AgentTerritory:
    """Give the agent a territory or channel from `effective_on`; a territory has one owner at a time."""
    if kind == "territory":
        owner = await owner_of(session, code, effective_on, open_only=True)
        if owner is not None:
            raise Conflict(f"territory {code!r} belongs to agent {owner.agent_id} since {owner.valid_from}; "
                           "end that assignment first", code="territory_taken", field="code")
    row = AgentTerritory(agent_id=agent_id, kind=kind, code=code, valid_from=effective_on)
    session.add(row)
    await flush_or_refuse(session, Conflict(f"{kind} {code!r} is already assigned from {effective_on}",
                                            code="territory_taken", field="code"))
    await append_event(session, PLATFORM_TABLES, event_type="agent.territory_assigned", aggregate_type="agent",
                       aggregate_id=str(agent_id), payload={"agent_id": agent_id, "kind": kind, "code": code,
                                                            "effective_on": effective_on.isoformat()})
    return row


async def end(session: AsyncSession, agent_id: int, kind: str, code: str, effective_on: date) -> AgentTerritory:
    row = (await session.execute(select(AgentTerritory).where(
        AgentTerritory.agent_id == agent_id, AgentTerritory.kind == kind, AgentTerritory.code == code,
        AgentTerritory.valid_to.is_(None)).with_for_update())).scalar_one_or_none()
    if row is None:
        raise NotFound(f"agent {agent_id} holds no {kind} {code!r}", code="territory_not_held")
    rules.dates_in_order(row.valid_from, effective_on, field="effective_on")
    row.valid_to = effective_on
    await session.flush()
    await append_event(session, PLATFORM_TABLES, event_type="agent.territory_ended", aggregate_type="agent",
                       aggregate_id=str(agent_id), payload={"agent_id": agent_id, "kind": kind, "code": code,
                                                            "effective_on": effective_on.isoformat()})
    return row


async def end_all(session: AsyncSession, agent_id: int, effective_on: date) -> None:
    """Leaving ends every territory and channel on the leaving day (those starting that day vanish)."""
    rows = (await session.execute(select(AgentTerritory).where(
        AgentTerritory.agent_id == agent_id, AgentTerritory.valid_to.is_(None)))).scalars().all()
    for row in rows:
        if row.valid_from >= effective_on:
            await session.delete(row)
        else:
            row.valid_to = effective_on
    await session.flush()


async def held_on(session: AsyncSession, agent_id: int, on: date) -> list[AgentTerritory]:
    return list((await session.execute(select(AgentTerritory).where(
        AgentTerritory.agent_id == agent_id, AgentTerritory.valid_from <= on,
        (AgentTerritory.valid_to.is_(None)) | (AgentTerritory.valid_to > on),
    ).order_by(AgentTerritory.kind, AgentTerritory.code))).scalars())


async def owner_of(session: AsyncSession, code: str, on: date, *, open_only: bool = False) -> AgentTerritory | None:
    """Who owns a territory on a date (inbound enquiries from it are assigned to them)."""
    query = select(AgentTerritory).where(AgentTerritory.kind == "territory", AgentTerritory.code == code)
    query = query.where(AgentTerritory.valid_to.is_(None)) if open_only else query.where(
        AgentTerritory.valid_from <= on, (AgentTerritory.valid_to.is_(None)) | (AgentTerritory.valid_to > on))
    return (await session.execute(query)).scalar_one_or_none()
