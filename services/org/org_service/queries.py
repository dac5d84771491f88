"""Reading the organisation as of any date: one indexed lookup for a chain, the maintained rollups
for a subtree, a recursive walk only for the bloodline (which is not maintained)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from org_service import access, positions
from org_service.models import AgentPosition
from svckit.errors import NotFound
from svckit.scope import DataScope


@dataclass(frozen=True)
class ChainLink:
    agent_id: int
    code: str
    name: str
    rank_code: str
    team_id: int | None
    level: int


def _no_position(agent_id: int, on: date) -> NotFound:
    return NotFound(f"agent {agent_id} has no position on {on}", code="no_position_on_date")


async def position_or_404(session: AsyncSession, agent_id: int, on: date) -> AgentPosition:
    position = await positions.position_on(session, agent_id, on)
    if position is None:
        raise _no_position(agent_id, on)
    return position


# Each read is one statement: the caller's scope check (the agent's latest chains), whether the
# agent stands anywhere on the date, and the answer. A positions version in force on :d is
# `valid_from <= :d AND (valid_to IS NULL OR valid_to > :d)`.
CHAIN = text(
    "SELECT s.path AS scope_path, s.institution_path AS scope_institution_path,"  # noqa: S608 - constant fragments
    "  me.agent_id IS NOT NULL AS placed,"
    "  link.id, link.code, link.name, link.rank_code, link.team_id"
    " FROM (SELECT 1) AS one"
    f" LEFT JOIN LATERAL ({access.LATEST_CHAINS}) AS s ON true"
    " LEFT JOIN org.agent_position me ON me.agent_id = :a AND me.valid_from <= :d"
    "   AND (me.valid_to IS NULL OR me.valid_to > :d)"
    " LEFT JOIN LATERAL ("
    "   SELECT u.id, u.n, a.code, a.name, p.rank_code, p.team_id"
    "   FROM unnest(me.path) WITH ORDINALITY AS u(id, n)"
    "   JOIN org.agent a ON a.id = u.id"
    "   JOIN org.agent_position p ON p.agent_id = u.id AND p.valid_from <= :d"
    "     AND (p.valid_to IS NULL OR p.valid_to > :d)) AS link ON true"
    " ORDER BY link.n DESC"
)
SUBTREE = text(
    "SELECT s.path AS scope_path, s.institution_path AS scope_institution_path,"  # noqa: S608 - constant fragments
    "  me.placed, r.ranks, r.headcounts,"
    "  (SELECT count(*) FROM org.agent_position WHERE supervisor_id = :a AND valid_from <= :d"
    "    AND (valid_to IS NULL OR valid_to > :d)) AS direct_reports"
    " FROM (SELECT EXISTS (SELECT 1 FROM org.agent_position WHERE agent_id = :a AND valid_from <= :d"
    "   AND (valid_to IS NULL OR valid_to > :d)) AS placed) AS me"
    f" LEFT JOIN LATERAL ({access.LATEST_CHAINS}) AS s ON true"
    " CROSS JOIN LATERAL (SELECT array_agg(rank_code) AS ranks, array_agg(headcount) AS headcounts"
    "   FROM org.subtree_rollup WHERE agent_id = :a AND valid_from <= :d AND (valid_to IS NULL OR valid_to > :d)"
    "   AND headcount <> 0) AS r"
)


def _checked(row: Any, scope: DataScope, agent_id: int, on: date) -> None:
    """As strict as `access.require_agent` then `position_or_404`, in that order."""
    chains = None if row.scope_path is None else (row.scope_path, row.scope_institution_path)
    access.check_agent(scope, agent_id, chains)
    if not row.placed:
        raise _no_position(agent_id, on)


async def supervisor_chain(session: AsyncSession, scope: DataScope, agent_id: int, on: date) -> list[ChainLink]:
    """Direct supervisor first, up to the top, as the organisation stood on `on`."""
    rows = (await session.execute(CHAIN, {"a": agent_id, "d": on})).all()
    _checked(rows[0], scope, agent_id, on)
    return [ChainLink(r.id, r.code, r.name, r.rank_code, r.team_id, level)
            for level, r in enumerate((r for r in rows if r.id is not None), start=1)]


@dataclass(frozen=True)
class Subtree:
    headcount_by_rank: dict[str, int]
    direct_reports: int


async def subtree(session: AsyncSession, scope: DataScope, agent_id: int, on: date) -> Subtree:
    """Headcount by rank below the agent on `on`, from the maintained rollups, and their direct reports."""
    row = (await session.execute(SUBTREE, {"a": agent_id, "d": on})).one()
    _checked(row, scope, agent_id, on)
    return Subtree(dict(zip(row.ranks or [], row.headcounts or [], strict=True)), int(row.direct_reports))


async def bloodline(session: AsyncSession, agent_id: int, kind: str, max_generations: int) -> list[dict[str, Any]]:
    """Everyone `agent_id` recruited or nurtured, directly (generation 1) and indirectly."""
    rows = (await session.execute(text(
        "WITH RECURSIVE line(agent_id, sponsor_id, generation) AS ("
        "  SELECT agent_id, sponsor_id, 1 FROM org.agent_lineage WHERE sponsor_id = :a AND kind = :k"
        "  UNION ALL"
        "  SELECT l.agent_id, l.sponsor_id, line.generation + 1 FROM org.agent_lineage l"
        "  JOIN line ON l.sponsor_id = line.agent_id WHERE l.kind = :k AND line.generation < :g)"
        " SELECT line.agent_id, line.sponsor_id, line.generation, a.code, a.name, a.status"
        " FROM line JOIN org.agent a ON a.id = line.agent_id ORDER BY line.generation, line.agent_id"
    ), {"a": agent_id, "k": kind, "g": max_generations})).all()
    return [dict(r._mapping) for r in rows]


SNAPSHOT_BATCH = 2_000


async def snapshot(connection: AsyncConnection, institution_id: int | None, on: date) -> AsyncIterator[str]:
    """Every position in force on `on` in an institution's subtree (or the whole company), as NDJSON
    chunks of up to SNAPSHOT_BATCH lines.

    Runs on its own connection: a stream outlives the request's transaction."""
    result = await connection.stream(text(
        "SELECT json_build_object('agent_id', p.agent_id, 'code', a.code, 'name', a.name, 'status', a.status,"
        "  'supervisor_id', p.supervisor_id, 'team_id', p.team_id, 'institution_id', p.institution_id,"
        "  'rank_code', p.rank_code, 'path', p.path, 'valid_from', p.valid_from, 'valid_to', p.valid_to)::text"
        " FROM org.agent_position p JOIN org.agent a ON a.id = p.agent_id"
        " WHERE p.valid_from <= :d AND (p.valid_to IS NULL OR p.valid_to > :d)"
        "   AND (CAST(:i AS bigint) IS NULL OR p.institution_id IN"
        "        (SELECT id FROM org.institution WHERE path @> ARRAY[CAST(:i AS bigint)]))"
        " ORDER BY cardinality(p.path), p.agent_id"
    ), {"d": on, "i": institution_id})
    async for partition in result.partitions(SNAPSHOT_BATCH):
        # PostgreSQL builds each JSON line; Python only joins a batch into one chunk to send.
        yield "".join(row[0] + "\n" for row in partition)
