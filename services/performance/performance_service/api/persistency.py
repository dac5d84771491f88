"""Persistency 继续率 of an agent, a team or a supervisor's whole line."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from performance_service import access, gaps, persistency
from performance_service.api.deps import ScopeDep
from performance_service.schemas import PERIOD, PersistencyRead
from svckit.errors import Forbidden, Unprocessable
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1/persistency", tags=["persistency"])


@router.get("", response_model=PersistencyRead)
async def read_persistency(
    session: SessionDep, scope: ScopeDep, period: Annotated[str, Query(pattern=PERIOD)],
    agent_id: int | None = None, line_of: Annotated[int | None, Query(description="A supervisor: their "
                                                                        "whole line below, themself included")] = None,
    team_id: int | None = None,
) -> dict[str, Any]:
    """13-month (by rule) premium, count and composite persistency of one agent, a supervisor's line or a team."""
    named = [x for x in (agent_id, line_of, team_id) if x is not None]
    params: dict[str, Any]
    if len(named) != 1:
        raise Unprocessable("name one of agent_id, line_of and team_id", code="one_subject", field="agent_id")
    if agent_id is not None:
        await access.require_agent(session, scope, agent_id)
        where, params = "a.agent_id = :subject", {"subject": agent_id}
    elif line_of is not None:
        await access.require_agent(session, scope, line_of)
        where = "(a.agent_id = :subject OR a.path @> ARRAY[CAST(:subject AS bigint)])"
        params = {"subject": line_of}
    else:
        if not (scope.everything or scope.institutions):
            raise Forbidden("a team's persistency is for staff", code="role_required", field="team_id")
        where, params = "a.team_id = :subject", {"subject": team_id or 0}
        if not scope.everything:  # staff see the team's members in their institutions
            where += (" AND EXISTS (SELECT 1 FROM performance.org_institution i WHERE i.institution_id ="
                      " a.institution_id AND i.path && CAST(:institutions AS bigint[]))")
            params["institutions"] = sorted(scope.institutions)
    body = await gaps.rules_at(session, period)
    answer = await persistency.persistency(session, body.persistency, period=period, currency=body.currency,
                                           where=where, params=params)
    return answer
