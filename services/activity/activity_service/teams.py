"""A team as the activity service knows it, from its copy of the organisation: the active members of
the team today, and its supervisor — the member no other member stands above (the department manager of
a department, the group leader of a group). Team plans are written by the supervisor; morning meetings
are hosted in rotation by the other members."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from activity_service import access
from activity_service.models import DIRECTORY
from svckit.errors import Forbidden, NotFound
from svckit.scope import DataScope


@dataclass(frozen=True)
class Member:
    agent_id: int
    path: tuple[int, ...]
    institution_id: int


@dataclass(frozen=True)
class Team:
    team_id: int
    members: tuple[Member, ...]

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(m.agent_id for m in self.members)

    @property
    def supervisors(self) -> list[int]:
        """Members with no other member above them (one, in a team that has a head)."""
        ids = self.ids
        return sorted(m.agent_id for m in self.members if not ids.intersection(m.path))

    @property
    def agents(self) -> list[int]:
        """The members below the supervisor: those who host morning meetings in rotation."""
        heads = set(self.supervisors)
        rest = sorted(m.agent_id for m in self.members if m.agent_id not in heads)
        return rest or sorted(heads)

    @property
    def institution_id(self) -> int:
        head = self.supervisors[0]
        return next(m.institution_id for m in self.members if m.agent_id == head)


async def load(session: AsyncSession, team_id: int) -> Team:
    """The team's active members today; a team nobody is in is unknown here."""
    a = DIRECTORY.agents
    rows = (await session.execute(select(a.c.agent_id, a.c.path, a.c.institution_id).where(
        a.c.team_id == team_id, a.c.status != "left").order_by(a.c.agent_id))).all()
    if not rows:
        raise NotFound(f"team {team_id} does not exist", code="team_not_found", field="team_id")
    return Team(team_id, tuple(Member(r.agent_id, tuple(r.path), r.institution_id) for r in rows))


async def visible(session: AsyncSession, scope: DataScope, team_id: int) -> Team:
    """A team the caller may see: one of its members is in the caller's scope (404 otherwise)."""
    team = await load(session, team_id)
    a = DIRECTORY.agents
    seen = (await session.execute(select(a.c.agent_id).where(
        a.c.team_id == team_id, a.c.status != "left",
        access.condition(scope, a.c.agent_id, a.c.institution_id)).limit(1))).scalar()
    if seen is None:
        raise NotFound(f"team {team_id} does not exist", code="team_not_found", field="team_id")
    return team


def require_supervisor(team: Team, agent_id: int | None, *, field: str = "team_id") -> None:
    if agent_id is None or agent_id not in team.supervisors:
        raise Forbidden(f"only the supervisor of team {team.team_id} may do this", code="not_team_supervisor",
                        field=field)


def in_scope(scope: DataScope) -> Select[tuple[int, int, int]]:
    """Teams whose supervisor the scope holds (a supervisor's own team and the teams below them; staff:
    the teams of their institutions): team_id, supervisor (agent id), institution_id."""
    a, other = DIRECTORY.agents, DIRECTORY.agents.alias("other_member")
    above = exists().where(other.c.team_id == a.c.team_id, other.c.status != "left",
                           other.c.agent_id == func.any(a.c.path))
    return select(a.c.team_id, func.min(a.c.agent_id).label("supervisor"),
                  func.min(a.c.institution_id).label("institution_id")).where(
        a.c.team_id.is_not(None), a.c.status != "left", ~above,
        access.condition(scope, a.c.agent_id, a.c.institution_id)).group_by(a.c.team_id)
