"""Institutions, teams and the rank ladder."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from org_service import access, structure
from org_service.api.deps import AdminOnly, ManagersOnly, ScopeDep, actor_of
from org_service.models import Institution, Rank, Team
from org_service.schemas import (
    InstitutionCreate,
    InstitutionRead,
    RankRead,
    TeamCreate,
    TeamDissolve,
    TeamRead,
    TeamRename,
)
from svckit.errors import Forbidden
from svckit.idempotency import IdempotencyDep
from svckit.internal_auth import CallerDep
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1", tags=["structure"])


async def _team_read(session: SessionDep, team: Team) -> TeamRead:
    """A team with its current name, or for a dissolved team the name it had on its last day."""
    last_day = None if team.valid_to is None else team.valid_to - timedelta(days=1)
    name = await structure.current_name(session, team.id, last_day)
    return TeamRead.model_validate({**{c: getattr(team, c) for c in (
        "id", "institution_id", "parent_team_id", "kind", "number", "valid_from", "valid_to")}, "name": name})


@router.post("/institutions", response_model=InstitutionRead, status_code=201, dependencies=[ManagersOnly])
async def create_institution(body: InstitutionCreate, session: SessionDep, caller: CallerDep, scope: ScopeDep,
                             _: IdempotencyDep) -> Institution:
    """Open an institution (HQ, branch, sales office, marketing service office, sub-branch)."""
    if body.parent_id is None:
        if not scope.everything:
            raise Forbidden("only administrators open a head office", code="scope_too_narrow", field="parent_id")
    else:
        await access.require_institution(session, scope, body.parent_id, field="parent_id")
    return await structure.create_institution(session, actor_of(caller), **body.model_dump())


@router.get("/institutions/{institution_id}", response_model=InstitutionRead)
async def read_institution(institution_id: int, session: SessionDep, scope: ScopeDep) -> Institution:
    """One institution."""
    return await access.require_institution(session, scope, institution_id)


@router.get("/institutions/{institution_id}/tree", response_model=list[InstitutionRead])
async def institution_tree(institution_id: int, session: SessionDep, scope: ScopeDep) -> list[Institution]:
    """The institution and everything under it, top down."""
    await access.require_institution(session, scope, institution_id)
    rows = await session.execute(select(Institution).where(Institution.path.contains([institution_id]))
                                 .order_by(Institution.tier, Institution.id))
    return list(rows.scalars())


@router.post("/teams", response_model=TeamRead, status_code=201, dependencies=[AdminOnly])
async def create_team(body: TeamCreate, session: SessionDep, caller: CallerDep, scope: ScopeDep,
                      _: IdempotencyDep) -> TeamRead:
    """Create a team directly (administrators, for setup; otherwise through /v1/team-changes)."""
    await access.require_institution(session, scope, body.institution_id)
    team = await structure.create_team(session, actor_of(caller), **body.model_dump())
    return await _team_read(session, team)


@router.get("/teams/{team_id}", response_model=TeamRead)
async def read_team(team_id: int, session: SessionDep, scope: ScopeDep) -> TeamRead:
    """A team with its current name."""
    team = await access.require_team(session, scope, team_id)
    return await _team_read(session, team)


@router.post("/teams/{team_id}/rename", response_model=TeamRead, dependencies=[ManagersOnly])
async def rename_team(team_id: int, body: TeamRename, session: SessionDep, caller: CallerDep,
                      scope: ScopeDep) -> TeamRead:
    """Give a team a new name from a date on; the old name stays in its history."""
    await access.require_team(session, scope, team_id)
    team = await structure.rename_team(session, actor_of(caller), team_id, **body.model_dump())
    return await _team_read(session, team)


@router.post("/teams/{team_id}/dissolve", response_model=TeamRead, dependencies=[AdminOnly])
async def dissolve_team(team_id: int, body: TeamDissolve, session: SessionDep, caller: CallerDep,
                        scope: ScopeDep) -> TeamRead:
    """Dissolve an empty team directly (administrators; otherwise through /v1/team-changes)."""
    await access.require_team(session, scope, team_id)
    team = await structure.dissolve_team(session, actor_of(caller), team_id, **body.model_dump())
    return await _team_read(session, team)


@router.get("/ranks", response_model=list[RankRead])
async def ranks(session: SessionDep) -> list[Rank]:
    """The rank ladder, lowest first."""
    return list((await session.execute(select(Rank).order_by(Rank.ladder_order))).scalars())

