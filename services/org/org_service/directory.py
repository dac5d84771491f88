"""What other services replicate to enforce data scope themselves: who stands where on a date.

Other services keep a copy of each agent's supervisor path and institution chain (svckit.directory)
and refresh it from here when org's change feed says something moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def agents_and_below(session: AsyncSession, agent_ids: Sequence[int], on: date) -> list[dict[str, Any]]:
    """The named agents (their standing on `on`, or their last one if they have left) and everyone
    below them on `on`: what a change to those agents can have moved."""
    rows = (await session.execute(text(
        "SELECT DISTINCT ON (p.agent_id) p.agent_id, a.user_id, p.path, p.institution_id, p.team_id, p.rank_code,"
        "  a.status"
        " FROM org.agent_position p JOIN org.agent a ON a.id = p.agent_id"
        " WHERE (p.agent_id = ANY(CAST(:ids AS bigint[])) AND p.valid_from <= :d)"
        "    OR (p.path && CAST(:ids AS bigint[]) AND p.valid_from <= :d AND (p.valid_to IS NULL OR p.valid_to > :d))"
        " ORDER BY p.agent_id, p.valid_from DESC"
    ), {"ids": list(agent_ids), "d": on})).all()
    return [dict(r._mapping) for r in rows]


async def institutions(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.execute(text(
        "SELECT id AS institution_id, path, name FROM org.institution ORDER BY id"))).all()
    return [dict(r._mapping) for r in rows]
