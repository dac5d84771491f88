"""Who may see which performance record: every object is checked against the caller's data scope with
the service's replica of the organisation (svckit.directory), exactly as the ledger does. Outside the
scope answers 404, like an object that does not exist, so ids cannot be probed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from performance_service.models import DIRECTORY
from svckit import directory
from svckit.errors import NotFound
from svckit.scope import DataScope


def condition(scope: DataScope, agent_col: Any, institution_col: Any) -> ColumnElement[bool]:
    """The WHERE condition every scoped list uses."""
    return directory.scope_condition(scope, DIRECTORY, agent_col, institution_col)


async def require_agent(session: AsyncSession, scope: DataScope, agent_id: int, *, what: str = "agent",
                        object_id: int | None = None, field: str = "agent_id") -> Any:
    """The agent as the replica holds them, if the scope allows them (their own, subtree or institution)."""
    row = await directory.agent(session, DIRECTORY, agent_id)
    allowed = row is not None and scope.allows(agent_id=agent_id, agent_path=row.path,
                                               institution_path=row.institution_path)
    if not allowed:
        raise NotFound(f"{what} {object_id if object_id is not None else agent_id} does not exist",
                       code=f"{what}_not_found", field=field)
    return row
