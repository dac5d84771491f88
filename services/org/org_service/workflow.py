"""Team change workflow (seed 000 第五–八条): requests to create, merge, split (fission 裂变) or dissolve
teams are checked against the team standards in force on their effective date, decided step by step
along the approval chain copied onto them when submitted, and executed on the final approval through
the effective-dated structure and agent functions, so they take effect on their date and nothing
before it is rewritten. A team that did not pass this workflow does not exist for the company.

Only flushes; the request's transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from org_service import agents, rules, structure
from org_service.agents import Actor
from org_service.models import (
    PLATFORM_TABLES,
    AgentPosition,
    ApprovalChainStep,
    Institution,
    Team,
    TeamChangeDecision,
    TeamChangeRequest,
    TeamChangeStep,
    TeamName,
    TeamStandard,
)
from org_service.workflow_rules import (
    ADMIN,
    CHAIN,
    OPEN,
    PLAN_FIELD,
    Standard,
    Step,
    acting_role,
    after_decision,
    applicant_role,
    chain_is_usable,
    decidable_step,
    headcount_meets,
    premium_plan_meets,
    tops,
)
from svckit.errors import Conflict, Forbidden, NotFound, Unprocessable
from svckit.money import Money
from svckit.outbox import append_event
from svckit.pagination import PageParams, keyset, page_of
from svckit.timeutil import business_date, utcnow


def _in_force(model: type[TeamStandard] | type[ApprovalChainStep], on: date) -> Any:
    return (model.valid_from <= on) & (model.valid_to.is_(None) | (model.valid_to > on))


async def standards_on(session: AsyncSession, on: date) -> list[TeamStandard]:
    return list((await session.execute(select(TeamStandard).where(_in_force(TeamStandard, on)).order_by(
        TeamStandard.institution_kind, TeamStandard.team_kind))).scalars())


async def standard_for(session: AsyncSession, institution_kind: str, team_kind: str, on: date) -> Standard:
    row = (await session.execute(select(TeamStandard).where(
        TeamStandard.institution_kind == institution_kind, TeamStandard.team_kind == team_kind,
        _in_force(TeamStandard, on)))).scalar_one_or_none()
    if row is None:
        raise Unprocessable(f"no team standard for a {team_kind} under a {institution_kind} is in force on {on}",
                            code="no_team_standard", field="institution_id")
    return Standard(row.institution_kind, row.team_kind, row.valid_from,
                    Money(row.min_annual_premium_plan, row.currency), row.min_headcount, row.max_headcount)


async def chain_on(session: AsyncSession, on: date) -> list[Step]:
    rows = (await session.execute(select(ApprovalChainStep).where(
        ApprovalChainStep.chain == CHAIN, _in_force(ApprovalChainStep, on)).order_by(ApprovalChainStep.position)))
    steps = [Step(r.position, r.step, r.role, r.tier) for r in rows.scalars()]
    chain_is_usable(steps)
    return steps


# ---- checking a request against the organisation ------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A person standing in a team now (read as plain values, so later writes cannot leave them stale)."""

    agent_id: int
    supervisor_id: int | None
    path: list[int]
    valid_from: date


async def _members(session: AsyncSession, team_ids: Sequence[int]) -> list[Member]:
    """Everyone whose open position is in these teams, top of the hierarchy first."""
    rows = await session.execute(select(
        AgentPosition.agent_id, AgentPosition.supervisor_id, AgentPosition.path, AgentPosition.valid_from,
    ).where(AgentPosition.team_id.in_(team_ids), AgentPosition.valid_to.is_(None))
     .order_by(func.cardinality(AgentPosition.path), AgentPosition.agent_id))
    return [Member(r.agent_id, r.supervisor_id, list(r.path), r.valid_from) for r in rows]


async def _institution(session: AsyncSession, institution_id: int, on: date) -> Institution:
    institution = await session.get(Institution, institution_id)
    if institution is None:
        raise Unprocessable(f"institution {institution_id} does not exist", code="institution_not_found",
                            field="institution_id")
    if institution.kind == "hq":
        raise Conflict("teams belong to a branch or an office, not to HQ", code="wrong_institution",
                       field="institution_id")
    if institution.opened_on > on or (institution.closed_on is not None and institution.closed_on <= on):
        raise Conflict(f"institution {institution_id} is not open on {on}", code="institution_closed",
                       field="institution_id")
    return institution


async def _open_team(session: AsyncSession, team_id: int, r: TeamChangeRequest, *, field: str) -> Team:
    """The team exists on the effective date, belongs to the request's institution, and is not being dissolved."""
    team = await session.get(Team, team_id)
    if team is None:
        raise Unprocessable(f"team {team_id} does not exist", code="team_not_found", field=field)
    if team.institution_id != r.institution_id:
        raise Conflict(f"team {team_id} belongs to another institution", code="team_outside_institution",
                       field=field)
    if team.valid_from > r.effective_on or team.valid_to is not None:
        raise Conflict(f"team {team_id} is not open on {r.effective_on} (not yet created, or dissolved)",
                       code="team_not_open", field=field)
    return team


async def _dissolvable(session: AsyncSession, team_id: int, r: TeamChangeRequest, *, field: str) -> None:
    team = await _open_team(session, team_id, r, field=field)
    rules.dates_in_order(team.valid_from, r.effective_on, field="effective_on")
    groups = (await session.execute(select(func.count()).select_from(Team).where(
        Team.parent_team_id == team_id, Team.valid_to.is_(None)))).scalar_one()
    if groups:
        raise Conflict(f"team {team_id} still has {groups} groups; merge or dissolve them first",
                       code="team_has_groups", field=field)


async def _new_team(session: AsyncSession, r: TeamChangeRequest) -> str:
    """Checks on the team a create or split brings into being; returns its kind."""
    parent_id, name = r.payload.get("parent_team_id"), r.payload.get("name")
    if parent_id is not None and (await _open_team(session, parent_id, r, field="parent_team_id")).kind != "department":
        raise Conflict("a group belongs to a department", code="wrong_parent_team", field="parent_team_id")
    if name is not None and (await session.execute(select(TeamName.team_id).where(
            TeamName.name == name, TeamName.valid_to.is_(None)))).first() is not None:
        raise Conflict(f"the name {name!r} is already used by another team", code="team_name_taken", field="name")
    return "department" if parent_id is None else "group"


async def _split_off(session: AsyncSession, source_team_id: int, agent_ids: Sequence[int]) -> list[Member]:
    """The listed members of the source team and everyone below them in it."""
    members = await _members(session, [source_team_id])
    listed = set(agent_ids)
    missing = listed - {m.agent_id for m in members}
    if missing:
        raise Conflict(f"agents {sorted(missing)} are not members of team {source_team_id}",
                       code="agent_not_in_team", field="agent_ids", agent_ids=sorted(missing))
    return [m for m in members if m.agent_id in listed or listed.intersection(m.path)]


async def _movable(session: AsyncSession, moving: Sequence[Member], new_supervisor_id: int | None,
                   on: date) -> None:
    if moving:
        rules.not_before_history(on, max(m.valid_from for m in moving), what="a member who would move")
    if new_supervisor_id is None:
        return
    if new_supervisor_id in {m.agent_id for m in moving}:
        raise Conflict("the new supervisor is among the people moving", code="supervision_cycle",
                       field="new_supervisor_id")
    if (await session.execute(select(AgentPosition.agent_id).where(
            AgentPosition.agent_id == new_supervisor_id, AgentPosition.valid_to.is_(None)))).first() is None:
        raise Unprocessable(f"agent {new_supervisor_id} does not exist or has left", code="supervisor_not_found",
                            field="new_supervisor_id")


async def _check(session: AsyncSession, r: TeamChangeRequest, *, standards: bool) -> Standard | None:
    """Refuse a request the organisation cannot take; with `standards`, also one below the team standard."""
    institution = await _institution(session, r.institution_id, r.effective_on)
    p, on = r.payload, r.effective_on
    if r.kind == "create":
        team_kind, headcount, field = await _new_team(session, r), int(p["planned_headcount"]), "planned_headcount"
    elif r.kind == "merge":
        target = await _open_team(session, p["target_team_id"], r, field="target_team_id")
        if target.id in p["source_team_ids"]:
            raise Unprocessable("the target cannot also be a source", code="target_among_sources",
                                field="source_team_ids")
        for source in p["source_team_ids"]:
            await _dissolvable(session, source, r, field="source_team_ids")
        moving = await _members(session, p["source_team_ids"])
        await _movable(session, moving, p.get("new_supervisor_id"), on)
        team_kind, field = target.kind, "source_team_ids"
        headcount = len(moving) + len(await _members(session, [target.id]))
    elif r.kind == "split":
        await _open_team(session, p["source_team_id"], r, field="source_team_id")
        team_kind = await _new_team(session, r)
        moving = await _split_off(session, p["source_team_id"], p["agent_ids"])
        await _movable(session, moving, p.get("new_supervisor_id"), on)
        headcount, field = len(moving), "agent_ids"
    else:
        await _dissolvable(session, p["team_id"], r, field="team_id")
        destination = p.get("destination_team_id")
        moving = await _members(session, [p["team_id"]])
        if destination is None and moving:
            raise Conflict(f"team {p['team_id']} still has {len(moving)} members; say where they go",
                           code="team_not_empty", field="destination_team_id", members=len(moving))
        if destination is not None:
            if destination == p["team_id"]:
                raise Unprocessable("members cannot go to the team being dissolved",
                                    code="destination_is_the_team", field="destination_team_id")
            await _open_team(session, destination, r, field="destination_team_id")
        await _movable(session, moving, None, on)
        return None
    if not standards:
        return None
    standard = await standard_for(session, institution.kind, team_kind, on)
    if r.annual_premium_plan is None or r.currency is None:
        raise Unprocessable("an annual standard-premium plan is required", code="premium_plan_required",
                            field=PLAN_FIELD)
    premium_plan_meets(standard, Money(r.annual_premium_plan, r.currency))
    headcount_meets(standard, headcount, field=field)
    return standard


# ---- executing an approved request --------------------------------------------------------------


async def _move(session: AsyncSession, actor: Actor, r: TeamChangeRequest, moving: Sequence[Member], team_id: int,
                leaders: set[int]) -> list[int]:
    """Move people into `team_id` from the effective date, top first; `leaders` get the new supervisor if one
    is named (everyone below them follows it through the maintained paths)."""
    new_supervisor = r.payload.get("new_supervisor_id")
    for m in sorted(moving, key=lambda m: (len(m.path), m.agent_id)):
        changes: dict[str, Any] = {"team_id": team_id}
        if new_supervisor is not None and m.agent_id in leaders and m.supervisor_id != new_supervisor:
            changes["supervisor_id"] = new_supervisor
        await agents.move(session, actor, m.agent_id, effective_on=r.effective_on, changes=changes,
                          reason=f"team change #{r.id}: {r.kind}")
    return [m.agent_id for m in moving]


async def _create_team(session: AsyncSession, actor: Actor, r: TeamChangeRequest) -> Team:
    return await structure.create_team(session, actor, institution_id=r.institution_id,
                                       parent_team_id=r.payload.get("parent_team_id"), valid_from=r.effective_on,
                                       number=r.payload.get("number"), name=r.payload.get("name"))


async def _execute(session: AsyncSession, r: TeamChangeRequest, decider_name: str) -> dict[str, Any]:
    """Apply the change from its effective date; returns what was written."""
    await _check(session, r, standards=False)
    actor, p = Actor(f"{decider_name} (team change #{r.id})"), r.payload
    if r.kind == "create":
        return {"team_id": (await _create_team(session, actor, r)).id}
    if r.kind == "split":
        team = await _create_team(session, actor, r)
        moving = await _split_off(session, p["source_team_id"], p["agent_ids"])
        listed = set(p["agent_ids"])
        leaders = {m.agent_id for m in moving if m.agent_id in listed and not listed.intersection(m.path)}
        return {"team_id": team.id, "moved_agent_ids": await _move(session, actor, r, moving, team.id, leaders)}
    target = p["target_team_id"] if r.kind == "merge" else p.get("destination_team_id")
    dissolving = p["source_team_ids"] if r.kind == "merge" else [p["team_id"]]
    members = await _members(session, dissolving)
    moved: list[int] = []
    if members and target is not None:  # the leaders are the tops of all the dissolving teams together
        moved = await _move(session, actor, r, members, target, tops({m.agent_id: m.supervisor_id for m in members}))
    for team_id in dissolving:
        await structure.dissolve_team(session, actor, team_id, effective_on=r.effective_on)
    return {"team_id": target, "moved_agent_ids": moved, "dissolved_team_ids": list(dissolving)}


# ---- the request and its decisions ---------------------------------------------------------------


@dataclass(frozen=True)
class Decider:
    """Who submits or decides, from the internal token."""

    name: str
    user_id: str | None
    roles: frozenset[str]
    institutions: frozenset[int] = frozenset()

    def is_requester_of(self, r: TeamChangeRequest) -> bool:
        if self.user_id is not None or r.requester_user_id is not None:
            return self.user_id == r.requester_user_id
        return self.name == r.requester


async def _event(session: AsyncSession, r: TeamChangeRequest, what: str, **details: Any) -> None:
    await append_event(session, PLATFORM_TABLES, event_type=f"team_change.{what}", aggregate_type="team_change",
                       aggregate_id=str(r.id), payload={
                           "request_id": r.id, "kind": r.kind, "institution_id": r.institution_id,
                           "effective_on": r.effective_on.isoformat(), "status": r.status, **details})


async def submit(session: AsyncSession, decider: Decider, *, kind: str, institution_id: int, effective_on: date,
                 reason: str, payload: dict[str, Any], plan: Money | None) -> TeamChangeRequest:
    """Check the request, copy the approval chain in force onto it and record the application (step 1)."""
    now = utcnow()
    steps = await chain_on(session, business_date(now))
    r = TeamChangeRequest(kind=kind, institution_id=institution_id, effective_on=effective_on, reason=reason,
                          status="submitted", current_step=2, payload=payload, requester=decider.name,
                          requester_user_id=decider.user_id, submitted_at=now,
                          annual_premium_plan=None if plan is None else plan.amount,
                          currency=None if plan is None else plan.currency)
    standard = await _check(session, r, standards=True)
    r.standard = None if standard is None else standard.as_record()
    session.add(r)
    await session.flush()
    session.add_all([TeamChangeStep(request_id=r.id, position=s.position, step=s.step, role=s.role, tier=s.tier)
                     for s in steps])
    await session.flush()
    session.add(TeamChangeDecision(request_id=r.id, position=1, step=steps[0].step, decision="approve",
                                   actor=decider.name, role=applicant_role(decider.roles), decided_at=now,
                                   comment=reason))
    await session.flush()
    await _event(session, r, "submitted", requester=decider.name)
    return r


async def get_request(session: AsyncSession, request_id: int, *, lock: bool = False) -> TeamChangeRequest:
    query = select(TeamChangeRequest).where(TeamChangeRequest.id == request_id)
    if lock:  # two approvers of one step queue here; the second then finds it decided
        query = query.with_for_update().execution_options(populate_existing=True)
    r = (await session.execute(query)).scalar_one_or_none()
    if r is None:
        raise NotFound(f"team change request {request_id} does not exist", code="team_change_not_found")
    return r


async def request_steps(session: AsyncSession, request_id: int) -> list[Step]:
    rows = await session.execute(select(TeamChangeStep).where(TeamChangeStep.request_id == request_id)
                                 .order_by(TeamChangeStep.position))
    return [Step(s.position, s.step, s.role, s.tier) for s in rows.scalars()]


async def decisions(session: AsyncSession, request_id: int) -> list[TeamChangeDecision]:
    return list((await session.execute(select(TeamChangeDecision).where(
        TeamChangeDecision.request_id == request_id).order_by(TeamChangeDecision.position))).scalars())


async def decide(session: AsyncSession, decider: Decider, request_id: int, *, step: str, decision: str,
                 comment: str | None) -> TeamChangeRequest:
    """Record a decision on the current step; the last approval executes the change in this transaction."""
    r = await get_request(session, request_id, lock=True)
    steps = await request_steps(session, r.id)
    target = decidable_step(steps, r.status, r.current_step, [d.position for d in await decisions(session, r.id)],
                            step)
    institution = await session.get(Institution, r.institution_id)
    role = acting_role(target, decider.roles, decider.institutions, institution.path if institution else [])
    now = utcnow()
    session.add(TeamChangeDecision(request_id=r.id, position=target.position, step=target.step, decision=decision,
                                   actor=decider.name, role=role, decided_at=now, comment=comment))
    r.status, r.current_step = after_decision(target, steps, decision)
    if r.current_step is None:
        r.closed_at, r.closed_by = now, decider.name
    await session.flush()
    await _event(session, r, "decided", step=target.step, decision=decision, actor=decider.name)
    if r.status == "approved":
        r.result = await _execute(session, r, decider.name)
        r.status = "executed"
        await session.flush()
        await _event(session, r, "executed", result=r.result)
    return r


async def cancel(session: AsyncSession, decider: Decider, request_id: int) -> TeamChangeRequest:
    """The requester (or an admin) withdraws a request before its final approval."""
    r = await get_request(session, request_id, lock=True)
    if ADMIN not in decider.roles and not decider.is_requester_of(r):
        raise Forbidden("only the requester or an admin may cancel a request", code="not_requester")
    if r.status not in OPEN:
        raise Conflict(f"the request is {r.status}", code="team_change_closed", request_status=r.status)
    r.status, r.current_step, r.closed_at, r.closed_by = "cancelled", None, utcnow(), decider.name
    await session.flush()
    await _event(session, r, "cancelled", by=decider.name)
    return r


async def list_requests(session: AsyncSession, params: PageParams, *, status: str | None, institution_id: int | None,
                        within: frozenset[int] | None) -> tuple[list[tuple[TeamChangeRequest, str | None]], str | None]:
    """Newest first, each with the name of its current step; `institution_id` takes in those below it, and
    `within` (unless None, for everything) limits them to those institutions and below."""
    query = select(TeamChangeRequest)
    if within is not None:
        query = query.where(TeamChangeRequest.institution_id.in_(
            select(Institution.id).where(Institution.path.overlap(sorted(within)))))
    if status is not None:
        query = query.where(TeamChangeRequest.status == status)
    if institution_id is not None:
        query = query.where(TeamChangeRequest.institution_id.in_(
            select(Institution.id).where(Institution.path.contains([institution_id]))))
    rows = (await session.execute(keyset(query, [TeamChangeRequest.id.expression], params, descending=True)))
    page, cursor = page_of(rows.scalars().all(), params, lambda r: [r.id])
    current = dict((await session.execute(select(TeamChangeStep.request_id, TeamChangeStep.step).join(
        TeamChangeRequest, (TeamChangeRequest.id == TeamChangeStep.request_id)
        & (TeamChangeRequest.current_step == TeamChangeStep.position)).where(
        TeamChangeStep.request_id.in_([r.id for r in page])))).all())
    return [(r, current.get(r.id)) for r in page], cursor
