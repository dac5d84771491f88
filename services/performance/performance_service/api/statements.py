"""Statements: an agent sees their own, a supervisor their subtree, back office their institutions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from performance_service import access, statements
from performance_service.api.deps import ScopeDep
from performance_service.schemas import PERIOD, StatementRead
from svckit.errors import Unprocessable
from svckit.routing import SessionDep, service_router

router = service_router(prefix="/v1/statements", tags=["statements"])


@router.get("/{agent_id}", response_model=StatementRead)
async def read_statement(
    agent_id: int, session: SessionDep, scope: ScopeDep,
    period: Annotated[str | None, Query(pattern=PERIOD, description="The month's current final run")] = None,
    run_id: Annotated[str | None, Query(description="A given run instead (what-if and superseded ones too)")] = None,
) -> dict[str, Any]:
    """An agent's statement: what the run pays and every line with its rule, base facts and arithmetic."""
    if (period is None) == (run_id is None):
        raise Unprocessable("name either a period or a run", code="period_or_run", field="period")
    await access.require_agent(session, scope, agent_id, what="statement")
    return await statements.statement(session, agent_id, period=period, run_id=run_id)
