"""Institutions and teams: the frame agents stand in. Team names follow the institution path."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from org_service import rules
from org_service.agents import Actor
from org_service.models import PLATFORM_TABLES, AgentPosition, Institution, OrgChange, Team, TeamName
from svckit.db import flush_or_refuse
from svckit.errors import Conflict, NotFound, Unprocessable
from svckit.outbox import append_event

# Which kind of institution may sit under which, and at which tier (HQ 1, branch 2, offices 3 or 4).
ALLOWED_PARENT = {"hq": set(), "branch": {"hq"}, "sales_office": {"branch"},
                  "service_office": {"branch", "sub_branch"}, "sub_branch": {"branch", "sub_branch"}}
TIERS = {"hq": {1}, "branch": {2}, "sales_office": {3}, "service_office": {3, 4}, "sub_branch": {3, 4}}


async def get_institution(session: AsyncSession, institution_id: int) -> Institution:
    institution = await session.get(Institution, institution_id)
    if institution is None:
        raise NotFound(f"institution {institution_id} does not exist", code="institution_not_found")
    return institution


async def create_institution(
    session: AsyncSession, actor: Actor, *, parent_id: int | None, kind: str, tier: int, code: str, name: str,
    opened_on: date,
) -> Institution:
    if tier not in TIERS[kind]:
        raise Unprocessable(f"a {kind} is a tier {sorted(TIERS[kind])} institution", code="wrong_tier", field="tier")
    path: list[int] = []
    if parent_id is None:
        if ALLOWED_PARENT[kind]:
            raise Unprocessable(f"a {kind} needs a parent institution", code="parent_required", field="parent_id")
    else:
        parent = await session.get(Institution, parent_id)
        if parent is None:
            raise Unprocessable(f"institution {parent_id} does not exist", code="institution_not_found",
                                field="parent_id")
        if parent.kind not in ALLOWED_PARENT[kind] or parent.tier >= tier:
            raise Conflict(f"a {kind} (tier {tier}) cannot sit under a {parent.kind} (tier {parent.tier})",
                           code="wrong_parent", field="parent_id")
        path = list(parent.path)
    institution = Institution(parent_id=parent_id, kind=kind, tier=tier, code=code, name=name, path=[],
                              opened_on=opened_on)
    session.add(institution)
    await flush_or_refuse(session, Conflict(f"institution code {code!r} is taken", code="institution_exists",
                                            field="code"))
    institution.path = [*path, institution.id]
    session.add(OrgChange(kind="institution_opened", effective_on=opened_on, subject_type="institution",
                          subject_id=institution.id, actor=actor.name, details={"kind": kind, "name": name}))
    await append_event(session, PLATFORM_TABLES, event_type="institution.opened", aggregate_type="institution",
                       aggregate_id=str(institution.id), payload={
                           "institution_id": institution.id, "parent_id": parent_id, "path": institution.path,
                           "kind": kind, "name": name, "effective_on": opened_on.isoformat()})
    await session.flush()
    return institution


async def _institution_names(session: AsyncSession, institution: Institution) -> list[str]:
    """Names from the branch down to this institution (HQ is not part of team names)."""
    rows = (await session.execute(select(Institution.id, Institution.name, Institution.tier).where(
        Institution.id.in_(institution.path)))).all()
    by_id = {row.id: row for row in rows}
    return [by_id[i].name for i in institution.path if by_id[i].tier >= 2]


async def current_name(session: AsyncSession, team_id: int, on: date | None = None) -> str:
    query = select(TeamName.name).where(TeamName.team_id == team_id)
    query = query.where(TeamName.valid_to.is_(None)) if on is None else query.where(
        TeamName.valid_from <= on, (TeamName.valid_to.is_(None)) | (TeamName.valid_to > on))
    name = (await session.execute(query)).scalar_one_or_none()
    if name is None:
        raise NotFound(f"team {team_id} has no name on that date", code="team_not_found")
    return name


async def _name_team(session: AsyncSession, team: Team, name: str, on: date) -> None:
    session.add(TeamName(team_id=team.id, valid_from=on, name=name))
    await flush_or_refuse(session, Conflict(f"the name {name!r} is already used by another team",
                                            code="team_name_taken", field="name"))


async def create_team(
    session: AsyncSession, actor: Actor, *, institution_id: int, parent_team_id: int | None, valid_from: date,
    number: int | None, name: str | None,
) -> Team:
    institution = await get_institution(session, institution_id)
    if institution.kind == "hq":
        raise Conflict("teams belong to a branch or an office, not to HQ", code="wrong_institution",
                       field="institution_id")
    kind = "department" if parent_team_id is None else "group"
    siblings = select(func.coalesce(func.max(Team.number), 0)).where(Team.institution_id == institution_id)
    if parent_team_id is not None:
        parent = await session.get(Team, parent_team_id)
        if parent is None or parent.kind != "department" or parent.institution_id != institution_id:
            raise Conflict("a group belongs to a department of the same institution", code="wrong_parent_team",
                           field="parent_team_id")
        if parent.valid_from > valid_from or (parent.valid_to is not None and parent.valid_to <= valid_from):
            raise Conflict(f"department {parent_team_id} does not exist on {valid_from}", code="team_dissolved",
                           field="parent_team_id")
        siblings = siblings.where(Team.parent_team_id == parent_team_id)
    else:
        siblings = siblings.where(Team.parent_team_id.is_(None))
    number = number or int((await session.execute(siblings)).scalar_one()) + 1
    team = Team(institution_id=institution_id, parent_team_id=parent_team_id, kind=kind, number=number,
                valid_from=valid_from)
    session.add(team)
    await session.flush()
    if name is None:
        name = (rules.department_name(await _institution_names(session, institution), number) if kind == "department"
                else rules.group_name(await current_name(session, parent_team_id or 0), number))
    await _name_team(session, team, name, valid_from)
    await _team_changed(session, actor, team, "created", valid_from, {"name": name, "kind": kind})
    return team


async def _team_changed(session: AsyncSession, actor: Actor, team: Team, what: str, on: date,
                        details: dict[str, object]) -> None:
    session.add(OrgChange(kind=f"team_{what}", effective_on=on, subject_type="team", subject_id=team.id,
                          actor=actor.name, details=details))
    await append_event(session, PLATFORM_TABLES, event_type=f"team.{what}", aggregate_type="team",
                       aggregate_id=str(team.id), payload={"team_id": team.id, "institution_id": team.institution_id,
                                                           "effective_on": on.isoformat(), **details})


async def get_team(session: AsyncSession, team_id: int) -> Team:
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist", code="team_not_found")
    return team


async def rename_team(session: AsyncSession, actor: Actor, team_id: int, *, name: str, effective_on: date) -> Team:
    team = await get_team(session, team_id)
    current = (await session.execute(select(TeamName).where(
        TeamName.team_id == team_id, TeamName.valid_to.is_(None)))).scalar_one()
    rules.not_before_history(effective_on, current.valid_from, what=f"the name of team {team_id}")
    if current.valid_from == effective_on:
        await session.delete(current)
        await session.flush()
    else:
        current.valid_to = effective_on
        await session.flush()
    await _name_team(session, team, name, effective_on)
    await _team_changed(session, actor, team, "renamed", effective_on, {"name": name, "previous": current.name})
    return team


async def dissolve_team(session: AsyncSession, actor: Actor, team_id: int, *, effective_on: date) -> Team:
    team = await get_team(session, team_id)
    if team.valid_to is not None:
        raise Conflict(f"team {team_id} was dissolved on {team.valid_to}", code="team_dissolved", field="team_id")
    rules.dates_in_order(team.valid_from, effective_on, field="effective_on")
    members = (await session.execute(select(func.count()).select_from(AgentPosition).where(
        AgentPosition.team_id == team_id, AgentPosition.valid_to.is_(None)))).scalar_one()
    groups = (await session.execute(select(func.count()).select_from(Team).where(
        Team.parent_team_id == team_id, Team.valid_to.is_(None)))).scalar_one()
    if members or groups:
        raise Conflict(f"team {team_id} still has {members} members and {groups} groups; move them first",
                       code="team_has_members", field="team_id")
    team.valid_to = effective_on
    name = (await session.execute(select(TeamName).where(
        TeamName.team_id == team_id, TeamName.valid_to.is_(None)))).scalar_one()
    name.valid_to = effective_on
    await session.flush()
    await _team_changed(session, actor, team, "dissolved", effective_on, {"name": name.name})
    return team
