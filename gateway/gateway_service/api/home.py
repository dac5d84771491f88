"""`/api/v1/home/...`: the mobile app's home pages, each one round trip to the gateway."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from gateway_service import home
from gateway_service.accounts import Principal
from gateway_service.deps import PrincipalDep
from gateway_service.home_schemas import AgentHome, SupervisorHome
from gateway_service.roles import Role
from gateway_service.state import gateway_of
from svckit.errors import Forbidden
from svckit.kit import kit_of
from svckit.problems import problem_responses
from svckit.scope import DataScope
from svckit.timeutil import business_date, utcnow

router = APIRouter(prefix="/api/v1/home", tags=["home"], responses=problem_responses(401, 403, 422, 503))


async def _fetcher(request: Request, principal: Principal, *, subtree: bool) -> home.Fetcher:
    """Asks the services as the caller, with a scope narrowed to their own agent (and, for a supervisor's
    home, their subtree): never wider than org's, and without staff institutions a person may also hold."""
    state, secret = gateway_of(request), kit_of(request).internal_secret
    scope = await state.scopes.scope_of(principal, state.upstreams, secret, state.settings.probe_timeout)
    if scope.agent_id is None or scope.everything or (subtree and not scope.subtree):
        raise Forbidden("a home page is for a user who is an agent in the organisation; this user is not",
                        code="not_an_agent")
    return home.Fetcher(state.upstreams, secret, principal, DataScope(agent_id=scope.agent_id, subtree=subtree),
                        state.settings.home_part_timeout)


@router.get("/agent", response_model=AgentHome)
async def agent_home(
    request: Request, principal: PrincipalDep,
    working_days: Annotated[int, Query(ge=1, le=20, description="How many working days ahead receivables are "
                                                                "listed")] = 5,
) -> AgentHome:
    """The signed-in agent's home: today's 5-3-1 progress, the month's FYC and target achievement,
    receivables due in the next working days, and this week's review sheet. A part whose service cannot
    answer is `unavailable` and named in `degraded`; the others still answer (403 `not_an_agent` for a user
    who is not an agent)."""
    fetch = await _fetcher(request, principal, subtree=False)
    assert fetch.scope.agent_id is not None
    return await home.agent_home(fetch, agent_id=fetch.scope.agent_id, today=business_date(utcnow()),
                                 working_days=working_days)


@router.get("/supervisor", response_model=SupervisorHome)
async def supervisor_home(request: Request, principal: PrincipalDep) -> SupervisorHome:
    """The signed-in supervisor's home, over their subtree: this week's 5-3-1 compliance, overdue and
    awaiting reviews, the month's ranking, and members at risk. A part whose service cannot answer is
    `unavailable` and named in `degraded` (403 `role_required` for anyone but a supervisor)."""
    if not principal.has_role(Role.SUPERVISOR):
        raise Forbidden("the supervisor home is for supervisors", code="role_required", role=Role.SUPERVISOR.value)
    fetch = await _fetcher(request, principal, subtree=True)
    assert fetch.scope.agent_id is not None
    return await home.supervisor_home(fetch, supervisor_id=fetch.scope.agent_id, today=business_date(utcnow()))
