"""Who may see which performance record: every object is checked against the caller's data scope with
the service's replica of the organisation (svckit.directory), exactly as the ledger does. Outside the
scope answers 404, like an object that does not exist, so ids cannot be probed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, and_, cast, exists, func, literal, select, true
from sqlalchemy.dialects.postgresql import JSONPATH
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from performance_service.models import DIRECTORY, FactQuarantine
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


# Where a ledger event names its agents (facts.py's _agents_of): the event itself, and a reversal's postings.
_NAMED_AGENTS = tuple(cast(literal(path), JSONPATH) for path in (
    'lax $.agent_id ? (@.type() == "number")', 'lax $.postings[*].agent_id ? (@.type() == "number")'))


def held_condition(scope: DataScope) -> ColumnElement[bool]:
    """The WHERE condition on held ledger events (`FactQuarantine`) the caller may see and admit.

    A company-wide user (head office, administrator) sees every held event. Anyone else sees an event
    only when every agent it names is known to the replica today and within their scope: an agent
    the organisation does not know yet belongs to no branch, so the event it names stays with the
    head office until org announces the agent (then their branch sees it and may admit it)."""
    if scope.company_wide:
        return true()
    named = func.jsonb_path_query_array(FactQuarantine.payload, _NAMED_AGENTS[0]).op("||")(
        func.jsonb_path_query_array(FactQuarantine.payload, _NAMED_AGENTS[1]))
    held_agent = func.jsonb_array_elements(named).table_valued("value").alias("held_agent")
    a = DIRECTORY.agents.alias("held_org_agent")
    in_scope = exists().where(a.c.agent_id == cast(held_agent.c.value, BigInteger),
                              condition(scope, a.c.agent_id, a.c.institution_id))
    return and_(exists(select(1).select_from(held_agent)),
                ~exists(select(1).select_from(held_agent).where(~in_scope)))
