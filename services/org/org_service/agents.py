"""Agents joining, moving, changing rank and leaving: checked against the rules, then written as
new versions with their paths and rollups, recorded in the change log and announced on the feed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from org_service import fission, placement, positions, rules, territories
from org_service.models import PLATFORM_TABLES, Agent, AgentLineage, AgentPosition, OrgChange
from org_service.placement import Context
from org_service.positions import Placement
from svckit.db import flush_or_refuse
from svckit.errors import Conflict, NotFound, Unprocessable
from svckit.outbox import append_event


@dataclass(frozen=True)
class Actor:
    """Who asked for a change (recorded with it)."""

    name: str


async def _record(session: AsyncSession, actor: Actor, kind: str, effective_on: date, agent_id: int,
                  details: dict[str, Any]) -> None:
    session.add(OrgChange(kind=kind, effective_on=effective_on, subject_type="agent", subject_id=agent_id,
                          actor=actor.name, details=details))
    await append_event(session, PLATFORM_TABLES, event_type=f"agent.{kind}", aggregate_type="agent",
                       aggregate_id=str(agent_id), payload={"agent_id": agent_id,
                                                            "effective_on": effective_on.isoformat(), **details})


async def get_agent(session: AsyncSession, agent_id: int) -> Agent:
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id} does not exist", code="agent_not_found", field="agent_id")
    return agent


def _institution_open(ctx: Context, institution_id: int) -> None:
    if ctx.institution is None:
        raise Unprocessable(f"institution {institution_id} does not exist", code="institution_not_found",
                            field="institution_id")
    opened_on, closed_on = ctx.institution
    if opened_on > ctx.on or (closed_on is not None and closed_on <= ctx.on):
        raise Conflict(f"institution {institution_id} is not open on {ctx.on}", code="institution_closed",
                       field="institution_id")


def _team_open(ctx: Context, team_id: int, institution_id: int) -> None:
    if ctx.team is None:
        raise Unprocessable(f"team {team_id} does not exist", code="team_not_found", field="team_id")
    valid_from, valid_to, team_institution = ctx.team
    if valid_from > ctx.on or (valid_to is not None and valid_to <= ctx.on):
        raise Conflict(f"team {team_id} does not exist on {ctx.on} (not yet created, or dissolved)",
                       code="team_dissolved", field="team_id")
    if team_institution != institution_id:
        raise Conflict(f"team {team_id} belongs to another institution", code="team_outside_institution",
                       field="team_id")


def _supervisor_on(ctx: Context, supervisor_id: int) -> placement.OpenPosition:
    """The supervisor's open version, which must already be in force on the date."""
    if ctx.supervisor is None:
        raise (Unprocessable(f"supervisor {supervisor_id} does not exist", code="supervisor_not_found",
                             field="supervisor_id") if not ctx.supervisor_found else
               Conflict(f"supervisor {supervisor_id} has left", code="supervisor_left", field="supervisor_id"))
    if ctx.supervisor.valid_from > ctx.on:
        raise Conflict(f"supervisor {supervisor_id} has a change recorded from {ctx.supervisor.valid_from}, "
                       f"after {ctx.on}", code="effective_date_before_history", field="effective_on")
    return ctx.supervisor


def _placement(ctx: Context, agent_id: int, *, supervisor_id: int | None, team_id: int | None, institution_id: int,
               rank_code: str) -> Placement:
    """Check a placement against the rules and compute the supervisor path it implies."""
    _institution_open(ctx, institution_id)
    if team_id is not None:
        _team_open(ctx, team_id, institution_id)
    standing = ctx.standing(rank_code, field="rank_code")
    path: list[int] = []
    if supervisor_id is not None:
        supervisor = _supervisor_on(ctx, supervisor_id)
        rules.no_supervision_cycle(agent_id, supervisor_id, supervisor.path)
        rules.supervisor_outranks(standing, ctx.standing(supervisor.rank_code, field="supervisor_id"),
                                  field="supervisor_id")
        path = [*supervisor.path, supervisor_id]
    return Placement(supervisor_id, team_id, institution_id, rank_code, path)


async def hire(
    session: AsyncSession, actor: Actor, *, code: str, name: str, licence_no: str, hire_date: date,
    institution_id: int, team_id: int | None, supervisor_id: int | None, rank_code: str,
    recruiter_id: int | None, nurturer_id: int | None, user_id: str | None,
) -> Agent:
    await positions.lock_hierarchy(session)
    agent = Agent(code=code, name=name, licence_no=licence_no, hire_date=hire_date, status="active",
                  home_institution_id=institution_id, user_id=user_id)
    session.add(agent)
    await flush_or_refuse(session, Conflict("an agent with this code, licence number or user account already exists",
                                            code="agent_exists", field="code"))
    ctx = await placement.context(session, agent.id, hire_date, institution_id=institution_id, team_id=team_id,
                                  supervisor_id=supervisor_id)
    where = _placement(ctx, agent.id, supervisor_id=supervisor_id, team_id=team_id, institution_id=institution_id,
                       rank_code=rank_code)
    await positions.write_version(session, agent.id, hire_date, where, "hired", None)
    await positions.shift_rollups(session, positions.arrival(where.path, {rank_code: 1}), hire_date)
    for kind, sponsor in (("recruiter", recruiter_id), ("nurturer", nurturer_id)):
        if sponsor is not None:
            await set_sponsor(session, agent.id, kind, sponsor, hire_date)
    await _record(session, actor, "joined", hire_date, agent.id, {
        "supervisor_id": supervisor_id, "team_id": team_id, "institution_id": institution_id, "rank_code": rank_code,
        "recruiter_id": recruiter_id, "nurturer_id": nurturer_id,
    })
    return agent


async def set_sponsor(session: AsyncSession, agent_id: int, kind: str, sponsor_id: int, on: date) -> None:
    """Record who recruited or nurtured an agent; the bloodline is permanent, so it is set once."""
    sponsor = await session.get(Agent, sponsor_id)
    if sponsor is None:
        raise Unprocessable(f"{kind} {sponsor_id} does not exist", code="sponsor_not_found", field=f"{kind}_id")
    existing = (await session.execute(select(AgentLineage).where(
        AgentLineage.agent_id == agent_id, AgentLineage.kind == kind))).scalars().first()
    if existing is not None:
        raise Conflict(f"the {kind} of agent {agent_id} is already recorded; a bloodline is permanent",
                       code="bloodline_permanent", field=f"{kind}_id")
    ancestry = await lineage_ancestry(session, sponsor_id, kind)
    rules.no_lineage_cycle(agent_id, sponsor_id, ancestry)
    session.add(AgentLineage(agent_id=agent_id, kind=kind, valid_from=on, sponsor_id=sponsor_id))
    await session.flush()


async def lineage_ancestry(session: AsyncSession, agent_id: int, kind: str) -> list[int]:
    """Sponsors above an agent in one bloodline (recruiter or nurturer), nearest first."""
    chain: list[int] = []
    current: int | None = agent_id
    while current is not None and len(chain) < 1000:
        current = (await session.execute(select(AgentLineage.sponsor_id).where(
            AgentLineage.agent_id == current, AgentLineage.kind == kind))).scalars().first()
        if current is not None:
            if current in chain:
                break
            chain.append(current)
    return chain


async def require_active(session: AsyncSession, agent_id: int) -> None:
    await _active(session, agent_id)


async def _active(session: AsyncSession, agent_id: int) -> tuple[Agent, AgentPosition]:
    """The agent and their open version, in one statement."""
    row = (await session.execute(select(Agent, AgentPosition).outerjoin(AgentPosition, (
        AgentPosition.agent_id == Agent.id) & AgentPosition.valid_to.is_(None)).where(Agent.id == agent_id))).first()
    if row is None:
        raise NotFound(f"agent {agent_id} does not exist", code="agent_not_found", field="agent_id")
    agent, current = row
    if agent.status == "left" or current is None:
        raise Conflict(f"agent {agent_id} has left", code="agent_left", field="agent_id")
    return agent, current


async def move(
    session: AsyncSession, actor: Actor, agent_id: int, *, effective_on: date, changes: dict[str, Any], reason: str,
) -> AgentPosition:
    """Change supervisor, team or institution from `effective_on`; people below follow their supervisor."""
    await positions.lock_hierarchy(session)
    _, current = await _active(session, agent_id)
    rules.not_before_history(effective_on, current.valid_from, what=f"agent {agent_id}")
    supervisor_id = changes.get("supervisor_id", current.supervisor_id)
    team_id = changes.get("team_id", current.team_id)
    institution_id = changes.get("institution_id", current.institution_id)
    ctx = await placement.context(session, agent_id, effective_on, institution_id=institution_id, team_id=team_id,
                                  supervisor_id=supervisor_id)
    where = _placement(ctx, agent_id, supervisor_id=supervisor_id, team_id=team_id, institution_id=institution_id,
                       rank_code=current.rank_code)
    chain_changed = where.path != current.path
    if chain_changed and ctx.latest_start_below is not None:
        rules.not_before_history(effective_on, ctx.latest_start_below, what=f"someone below agent {agent_id}")
    old_path = list(current.path)
    moving = ctx.below
    moving[current.rank_code] += 1
    written = await positions.write_version(session, agent_id, effective_on, where, reason, current)
    if chain_changed:
        if ctx.report_ranks:  # nobody reports to a leaf, so no path below it to rewrite
            await positions.repath_subtree(session, agent_id, len(old_path), [*where.path, agent_id], effective_on)
        common = set(old_path) & set(where.path)
        await positions.shift_rollups(session, positions.merge_deltas(
            positions.arrival([a for a in old_path if a not in common], moving, -1),
            positions.arrival([a for a in where.path if a not in common], moving, 1),
        ), effective_on)
    await _record(session, actor, "moved", effective_on, agent_id, {
        "reason": reason, "supervisor_id": where.supervisor_id, "team_id": where.team_id,
        "institution_id": where.institution_id, "people_moved": sum(moving.values()),
    })
    return written


async def change_rank(
    session: AsyncSession, actor: Actor, agent_id: int, *, effective_on: date, rank_code: str, kind: str, reason: str,
) -> AgentPosition:
    """Promotion, maintenance or demotion from `effective_on` (the bloodline is not touched)."""
    await positions.lock_hierarchy(session)
    _, current = await _active(session, agent_id)
    rules.not_before_history(effective_on, current.valid_from, what=f"agent {agent_id}")
    ctx = await placement.context(session, agent_id, effective_on, supervisor_id=current.supervisor_id)
    new = ctx.standing(rank_code, field="rank_code")
    if current.supervisor_id is not None:
        supervisor = _supervisor_on(ctx, current.supervisor_id)
        rules.supervisor_outranks(new, ctx.standing(supervisor.rank_code, field="supervisor_id"), field="rank_code")
    for report_rank in ctx.report_ranks:
        rules.supervisor_outranks(ctx.standing(report_rank, field="rank_code"), new, field="rank_code")
    where = Placement(current.supervisor_id, current.team_id, current.institution_id, rank_code, list(current.path))
    old_rank = current.rank_code
    written = await positions.write_version(session, agent_id, effective_on, where, f"{kind}: {reason}", current)
    await positions.shift_rollups(session, positions.merge_deltas(
        positions.arrival(where.path, {old_rank: 1}, -1), positions.arrival(where.path, {rank_code: 1}),
    ), effective_on)
    await _record(session, actor, "rank_changed", effective_on, agent_id, {
        "kind": kind, "reason": reason, "from_rank": old_rank, "to_rank": rank_code,
    })

    async def separate(team_head: int, new_supervisor: int | None, on: date) -> None:
        nonlocal written
        moved = await move(session, actor, team_head, effective_on=on, changes={"supervisor_id": new_supervisor},
                           reason="fission: reached the nurturer's rank")
        if team_head == agent_id:
            written = moved

    await fission.on_rank_change(session, separate, agent_id, rank_code, effective_on)
    return written


async def leave(session: AsyncSession, actor: Actor, agent_id: int, *, effective_on: date, reason: str) -> Agent:
    """The agent leaves: every relation ends on `effective_on` and the feed announces it, so other
    services revoke access and hand over customers. People reporting to them must be moved first."""
    await positions.lock_hierarchy(session)
    agent, current = await _active(session, agent_id)
    rules.not_before_history(effective_on, current.valid_from, what=f"agent {agent_id}")
    reports = (await session.execute(select(AgentPosition.agent_id).where(
        AgentPosition.supervisor_id == agent_id, AgentPosition.valid_to.is_(None)))).scalars().all()
    if reports:
        raise Conflict(f"{len(reports)} people still report to agent {agent_id}; move them first",
                       code="has_subordinates", field="agent_id", subordinates=sorted(reports)[:50])
    await positions.close_version(session, current, effective_on)
    await territories.end_all(session, agent_id, effective_on)
    await positions.shift_rollups(session, positions.arrival(current.path, Counter({current.rank_code: 1}), -1),
                                  effective_on)
    agent.status, agent.left_on = "left", effective_on
    await session.flush()
    await _record(session, actor, "left", effective_on, agent_id, {
        "reason": reason, "last_supervisor_id": current.supervisor_id, "team_id": current.team_id,
        "institution_id": current.institution_id,
    })
    return agent
