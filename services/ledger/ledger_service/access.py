"""Who may see which money record: every object is checked against the caller's data scope with the
ledger's own replica of the organisation (svckit.directory). Outside the scope answers 404, like an
object that does not exist, so ids cannot be probed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from ledger_service.models import DIRECTORY
from svckit import directory
from svckit.errors import NotFound, Unprocessable
from svckit.scope import DataScope


def condition(scope: DataScope, agent_col: Any, institution_col: Any) -> ColumnElement[bool]:
    """The WHERE condition every scoped list uses."""
    return directory.scope_condition(scope, DIRECTORY, agent_col, institution_col)


async def require(session: AsyncSession, scope: DataScope, *, agent_id: int | None, institution_id: int | None,
                  what: str, object_id: int, field: str) -> None:
    if not await directory.allows(session, scope, DIRECTORY, agent_id=agent_id, institution_id=institution_id):
        raise NotFound(f"{what} {object_id} does not exist", code=f"{what}_not_found", field=field)


async def active_agent(session: AsyncSession, agent_id: int, *, field: str = "agent_id") -> Any:
    """An agent as the organisation stands today; unknown or departed agents are refused."""
    row = await directory.agent(session, DIRECTORY, agent_id)
    if row is None:
        raise Unprocessable(f"agent {agent_id} is not known to the organisation", code="agent_not_found", field=field)
    if row.status == "left":
        raise Unprocessable(f"agent {agent_id} has left", code="agent_left", field=field)
    return row


async def institution_path(session: AsyncSession, institution_id: int, *, field: str = "institution_id") -> list[int]:
    path = await directory.institution_path(session, DIRECTORY, institution_id)
    if path is None:
        raise Unprocessable(f"institution {institution_id} is not known to the organisation",
                            code="institution_not_found", field=field)
    return path


async def active_agent_or_none(session: AsyncSession, agent_id: int) -> Any:
    return await directory.agent(session, DIRECTORY, agent_id)
