"""Who may see what in the organisation: the scope of an end user, and its check on every object.

Objects outside the caller's scope answer 404, exactly like objects that do not exist, so that
ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from org_service.models import Agent, Institution, Team
from svckit.errors import NotFound
from svckit.internal_auth import Caller
from svckit.scope import DataScope

STAFF_ROLES = ("back_office", "finance", "marketing_management", "gm_office", "compliance")


async def scope_for(session: AsyncSession, caller: Caller) -> DataScope:
    """Self for agents; their subtree for supervisors; assigned institutions for staff; all for admins.
    Staff assigned to a root of the institution tree (the head office) are company-wide."""
    if caller.has_role("admin"):
        return DataScope(everything=True)
    agent_id = None
    if caller.user_id is not None:
        agent_id = (await session.execute(select(Agent.id).where(
            Agent.user_id == caller.user_id, Agent.status != "left"))).scalar_one_or_none()
    institutions = frozenset(caller.institutions) if caller.has_role(*STAFF_ROLES) else frozenset()
    company_wide = bool(institutions) and (await session.execute(select(Institution.id).where(
        Institution.id.in_(institutions), Institution.parent_id.is_(None)).limit(1))).first() is not None
    return DataScope(agent_id=agent_id, subtree=agent_id is not None and caller.has_role("supervisor"),
                     institutions=institutions, company_wide=company_wide)


# An agent's latest position (current, or last held) and its institution's chain (HQ down to it):
# what their visibility is decided on. A fragment, so that reads can fold the check into their one
# statement (bind `:a`); `require_agent` runs it alone.
LATEST_CHAINS = (
    "SELECT p.path, i.path AS institution_path FROM org.agent_position p"
    " JOIN org.institution i ON i.id = p.institution_id"
    " WHERE p.agent_id = :a ORDER BY p.valid_from DESC LIMIT 1"
)


async def _agent_chains(session: AsyncSession, agent_id: int) -> tuple[Sequence[int], Sequence[int]] | None:
    row = (await session.execute(text(LATEST_CHAINS), {"a": agent_id})).one_or_none()
    return None if row is None else (row.path, row.institution_path)


def check_agent(scope: DataScope, agent_id: int, chains: tuple[Sequence[int], Sequence[int]] | None, *,
                field: str = "agent_id") -> None:
    """404 unless the scope allows the agent; `chains` as read by LATEST_CHAINS (None: no position ever,
    i.e. no such agent). Whole-company scopes pass without a look: existence is the endpoint's business
    (it answers 404 the same way)."""
    if scope.everything:
        return
    if chains is None or not scope.allows(agent_id=agent_id, agent_path=chains[0], institution_path=chains[1]):
        raise NotFound(f"agent {agent_id} does not exist", code="agent_not_found", field=field)


async def require_agent(session: AsyncSession, scope: DataScope, agent_id: int, *, field: str = "agent_id") -> None:
    if scope.everything:
        return
    check_agent(scope, agent_id, await _agent_chains(session, agent_id), field=field)


async def require_institution(session: AsyncSession, scope: DataScope, institution_id: int, *,
                              field: str = "institution_id") -> Institution:
    institution = await session.get(Institution, institution_id)
    if institution is None or not scope.allows(agent_id=None, institution_path=institution.path):
        raise NotFound(f"institution {institution_id} does not exist", code="institution_not_found", field=field)
    return institution


async def require_team(session: AsyncSession, scope: DataScope, team_id: int, *, field: str = "team_id") -> Team:
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist", code="team_not_found", field=field)
    institution = await session.get(Institution, team.institution_id)
    if institution is None or not scope.allows(agent_id=None, institution_path=institution.path):
        raise NotFound(f"team {team_id} does not exist", code="team_not_found", field=field)
    return team


TARGETS = text(
    "SELECT (SELECT path FROM org.institution WHERE id = :i) AS institution_path,"  # noqa: S608 - constant fragment
    "  (SELECT i.path FROM org.team t JOIN org.institution i ON i.id = t.institution_id WHERE t.id = :t)"
    "    AS team_institution_path,"
    "  s.path AS supervisor_path, s.institution_path AS supervisor_institution_path"
    f" FROM (SELECT 1) AS one LEFT JOIN LATERAL ({LATEST_CHAINS}) AS s ON true"
)


async def first_hidden_target(session: AsyncSession, scope: DataScope, *, institution_id: int | None,
                              team_id: int | None, supervisor_id: int | None) -> tuple[str, int] | None:
    """Which of the places an agent is put (institution, team, supervisor, checked in that order) does
    not exist or lies outside the scope, as ("institution" | "team" | "supervisor", id); None when all
    are fine. One statement, as strict as `require_institution`, `require_team` and `require_agent`."""
    check_supervisor = supervisor_id is not None and not scope.everything
    if institution_id is None and team_id is None and not check_supervisor:
        return None
    row = (await session.execute(TARGETS, {"i": institution_id, "t": team_id,
                                           "a": supervisor_id if check_supervisor else None})).one()
    if institution_id is not None and (row.institution_path is None or not scope.allows(
            agent_id=None, institution_path=row.institution_path)):
        return "institution", institution_id
    if team_id is not None and (row.team_institution_path is None or not scope.allows(
            agent_id=None, institution_path=row.team_institution_path)):
        return "team", team_id
    if check_supervisor and supervisor_id is not None:
        chains = None if row.supervisor_path is None else (row.supervisor_path, row.supervisor_institution_path)
        try:
            check_agent(scope, supervisor_id, chains)
        except NotFound:
            return "supervisor", supervisor_id
    return None


async def visible_agents(session: AsyncSession, scope: DataScope, agent_ids: Sequence[int]) -> set[int]:
    """Which of `agent_ids` the scope allows, in one query."""
    if scope.everything or not agent_ids:
        return set(agent_ids) if scope.everything else set()
    rows = (await session.execute(text(
        "SELECT DISTINCT ON (p.agent_id) p.agent_id, p.path, i.path AS institution_path"
        " FROM org.agent_position p JOIN org.institution i ON i.id = p.institution_id"
        " WHERE p.agent_id = ANY(CAST(:ids AS bigint[])) ORDER BY p.agent_id, p.valid_from DESC"
    ), {"ids": list(agent_ids)})).all()
    return {r.agent_id for r in rows if scope.allows(agent_id=r.agent_id, agent_path=r.path,
                                                      institution_path=r.institution_path)}
