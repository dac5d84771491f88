"""What every activity endpoint needs: the acting person, their data scope, role checks, paging."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from svckit.errors import Forbidden
from svckit.internal_auth import Caller, CallerDep, require_roles
from svckit.pagination import PageParams, page_params
from svckit.scope import DataScope

BackOfficeOnly = require_roles("admin", "back_office")
Administrators = require_roles("admin")


# Dependencies are `async def` even when they await nothing: FastAPI runs a plain `def` one in its
# thread pool, a thread hand-off on every request.
async def data_scope(caller: CallerDep) -> DataScope:
    return caller.data_scope


async def acting_agent(caller: CallerDep) -> int:
    """The agent the caller is: only an agent writes into an agent's log, and only into their own."""
    agent_id = caller.data_scope.agent_id
    if agent_id is None or caller.data_scope.everything:
        raise Forbidden("only an agent keeps an activity log; this user is not an agent", code="not_an_agent")
    return agent_id


ScopeDep = Annotated[DataScope, Depends(data_scope)]
AgentDep = Annotated[int, Depends(acting_agent)]
PageDep = Annotated[PageParams, Depends(page_params)]


def actor_of(caller: Caller) -> str:
    return caller.username or caller.user_id or f"service:{caller.service}"
